/** Connection-URL helpers. Passwords never leave this module unmasked in messages. */

/** `postgres://user:secret@host/db` → `postgres://user:***@host/db` (also masks `?password=`). */
export function maskUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = "***";
    if (parsed.searchParams.has("password")) parsed.searchParams.set("password", "***");
    return parsed.toString().replace("password=%2A%2A%2A", "password=***");
  } catch {
    // Not parseable as a URL: mask anything that looks like user:password@.
    return url.replace(/([^\s/:@]*):[^\s@/]*@/, "$1:***@").replace(/(password=)[^&\s]*/gi, "$1***");
  }
}

/** Removes a URL's password from free text (e.g. an error message that echoes the URL). */
export function scrubPassword(text: string, url: string): string {
  let out = text;
  try {
    const parsed = new URL(url);
    const secrets = [parsed.password, decodeURIComponent(parsed.password), parsed.searchParams.get("password") ?? ""];
    for (const secret of secrets) if (secret.length >= 3) out = out.split(secret).join("***");
  } catch {
    /* not a URL: nothing to scrub */
  }
  return out.split(url).join(maskUrl(url));
}

/** The database cannot be reached or used. `message` is safe to show a user as is (password masked). */
export class DatabaseUnavailableError extends Error {
  override readonly name = "DatabaseUnavailableError";
  readonly maskedUrl: string | undefined;
  constructor(message: string, opts?: { maskedUrl?: string; cause?: unknown }) {
    super(message, opts?.cause === undefined ? undefined : { cause: opts.cause });
    this.maskedUrl = opts?.maskedUrl;
  }
}

/** Checks that `url` is a postgres:// or postgresql:// URL; throws a DatabaseUnavailableError otherwise. */
export function assertPostgresUrl(url: string, source = "DATABASE_URL"): void {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new DatabaseUnavailableError(
      `${source} is not a valid URL: ${maskUrl(url)}. Expected postgres://user:password@host:port/database`,
      { maskedUrl: maskUrl(url) },
    );
  }
  if (parsed.protocol !== "postgres:" && parsed.protocol !== "postgresql:") {
    throw new DatabaseUnavailableError(
      `${source} must start with postgres:// or postgresql:// (got ${maskUrl(url)})`,
      { maskedUrl: maskUrl(url) },
    );
  }
}

/** The same server, another database: used to create/drop test databases. */
export function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${encodeURIComponent(database)}`;
  return parsed.toString();
}
