import type { Metadata } from "next";
import { StatusPanel } from "@/components/status-panel";

// The root layout's title template applies only to child segments, so this page spells out its title.
export const metadata: Metadata = { title: { absolute: "Status · ganboard" } };

export default function StatusPage() {
  return (
    <>
      <h1 className="page-title">Status</h1>
      <StatusPanel />
    </>
  );
}
