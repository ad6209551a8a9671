import type { Metadata } from "next";
import Link from "next/link";
import { SweepList } from "@/components/sweeps/sweep-list";
import styles from "@/components/sweeps/sweeps.module.css";

// The root layout's title template applies only to child segments, so this page spells out its title.
export const metadata: Metadata = { title: { absolute: "Sweeps · ganboard" } };

export default function SweepsPage() {
  return (
    <>
      <div className={styles.header}>
        <div>
          <h1>Sweeps</h1>
          <p className={styles.subtitle}>
            Every sweep with its progress and best result. Database and runners: <Link href="/status">Status</Link>.
          </p>
        </div>
        <Link className={styles.button} href="/sweeps/new">
          New sweep
        </Link>
      </div>
      <SweepList />
    </>
  );
}
