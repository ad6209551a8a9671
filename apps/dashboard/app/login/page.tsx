import type { Metadata } from "next";
import { configuredToken, safeNextPath } from "@/lib/auth";
import styles from "./login.module.css";

export const metadata: Metadata = { title: { absolute: "Sign in · ganboard" } };
export const dynamic = "force-dynamic";

export default async function LoginPage({ searchParams }: { searchParams: Promise<Record<string, string | string[] | undefined>> }) {
  const params = await searchParams;
  const next = safeNextPath(params.next);
  const failed = params.error === "1";

  if (!configuredToken()) {
    return (
      <section className={styles.card}>
        <h1 className="page-title">Sign in</h1>
        <p>This dashboard has no token configured, so there is nothing to sign in to.</p>
        <p>
          <a href={next}>Continue</a>
        </p>
      </section>
    );
  }
  return (
    <section className={styles.card}>
      <h1 className="page-title">Sign in</h1>
      <p className={styles.muted}>This ganboard is reachable from the network. Enter its token (GANBOARD_TOKEN).</p>
      <form method="post" action="/api/login" className={styles.form}>
        <input type="hidden" name="next" value={next} />
        <label htmlFor="token">Token</label>
        <input
          id="token"
          name="token"
          type="password"
          autoComplete="current-password"
          required
          autoFocus
          aria-invalid={failed || undefined}
          aria-describedby={failed ? "token-error" : undefined}
        />
        {failed ? (
          <p id="token-error" role="alert" className={styles.error}>
            That token is not correct.
          </p>
        ) : null}
        <button type="submit">Sign in</button>
      </form>
    </section>
  );
}
