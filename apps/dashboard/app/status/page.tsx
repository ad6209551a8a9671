import type { Metadata } from "next";
import { StatusPanel } from "@/components/status-panel";

export const metadata: Metadata = { title: "Status" };

export default function StatusPage() {
  return (
    <>
      <h1 className="page-title">Status</h1>
      <StatusPanel />
    </>
  );
}
