import type { Metadata } from "next";
import { SweepView } from "@/components/sweeps/sweep-view";

export const metadata: Metadata = { title: "Sweep" };

export default async function SweepPage({ params }: { params: Promise<{ id: string }> }) {
  const { id } = await params;
  return <SweepView id={id} />;
}
