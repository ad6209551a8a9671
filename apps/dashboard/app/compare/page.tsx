import type { Metadata } from "next";
import { Suspense } from "react";
import { CompareView } from "@/components/runs/compare-view";

export const metadata: Metadata = { title: "Compare" };

export default function ComparePage() {
  // useSearchParams needs a Suspense boundary in a statically rendered page.
  return (
    <Suspense fallback={<p role="status">Loading comparison…</p>}>
      <CompareView />
    </Suspense>
  );
}
