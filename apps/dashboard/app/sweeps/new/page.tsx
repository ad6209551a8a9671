import type { Metadata } from "next";
import { SweepForm } from "@/components/sweeps/sweep-form";
import styles from "@/components/sweeps/sweeps.module.css";

export const metadata: Metadata = { title: "New sweep" };

export default async function NewSweepPage({ searchParams }: { searchParams: Promise<Record<string, string | string[] | undefined>> }) {
  const { template } = await searchParams;
  return (
    <>
      <div className={styles.header}>
        <div>
          <h1>New sweep</h1>
          <p className={styles.subtitle}>Pick a template, change what you need in the form or the YAML, then create it.</p>
        </div>
      </div>
      <SweepForm initialTemplate={typeof template === "string" ? template : undefined} />
    </>
  );
}
