import { describe, expect, it } from "vitest";
import { DatabaseUnavailableError, maskUrl, resolveDatabase } from "./index.ts";
import { testServerUrl } from "./testing.ts";

describe("maskUrl", () => {
  it("masks passwords and leaves the rest", () => {
    expect(maskUrl("postgres://u:s3cret@h:5433/db")).toBe("postgres://u:***@h:5433/db");
    expect(maskUrl("postgres://u@h/db")).toBe("postgres://u@h/db");
    expect(maskUrl("postgresql://h/db?password=s3cret&sslmode=require")).toBe("postgresql://h/db?password=***&sslmode=require");
    expect(maskUrl("not a url u:s3cret@h")).not.toContain("s3cret");
    expect(maskUrl("postgres://u:p%40ss@h/db")).toBe("postgres://u:***@h/db");
  });
});

describe("resolveDatabase with an explicit URL", () => {
  it("DATABASE_URL pointing nowhere: a one-line error naming the URL with the password masked", async () => {
    const url = "postgres://ganboard:s3cret-pw@127.0.0.1:1/nowhere";
    const saved = process.env.DATABASE_URL;
    process.env.DATABASE_URL = url;
    try {
      const err = await resolveDatabase().then(
        () => null,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(DatabaseUnavailableError);
      const message = (err as Error).message;
      expect(message).toContain("postgres://ganboard:***@127.0.0.1:1/nowhere");
      expect(message).toContain("DATABASE_URL");
      expect(message).toMatch(/connection refused/);
      expect(message).not.toContain("s3cret");
      expect(message).not.toContain("\n");
      expect((err as DatabaseUnavailableError).maskedUrl).toBe("postgres://ganboard:***@127.0.0.1:1/nowhere");
    } finally {
      if (saved === undefined) delete process.env.DATABASE_URL;
      else process.env.DATABASE_URL = saved;
    }
  });

  it("an unknown host and a malformed URL are reported clearly too", async () => {
    await expect(resolveDatabase({ databaseUrl: "postgres://u:pw123@no-such-host.invalid:5432/db" })).rejects.toThrow(
      /postgres:\/\/u:\*\*\*@no-such-host\.invalid:5432\/db.*host not found/,
    );
    await expect(resolveDatabase({ databaseUrl: "mysql://u:pw123@h/db" })).rejects.toThrow(/must start with postgres:\/\//);
  });

  it("a reachable server is used as is, not owned, release is a no-op", async () => {
    const url = await testServerUrl();
    const handle = await resolveDatabase({ databaseUrl: url });
    expect(handle).toMatchObject({ url, embedded: false, owner: false });
    expect(handle.maskedUrl).not.toContain(new URL(url).password || "\u0000");
    await handle.release();
  });
});
