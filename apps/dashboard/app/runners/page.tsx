import type { Metadata } from "next";
import { RunnersTable } from "@/components/runs/runners-table";

export const metadata: Metadata = { title: "Runners" };

export default function RunnersPage() {
  return (
    <>
      <h1 className="page-title">Runners</h1>
      <RunnersTable />
    </>
  );
}
