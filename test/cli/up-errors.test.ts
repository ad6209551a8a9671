import net from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { findFreePort } from "../../apps/cli/src/lib/net.ts";
import { cliEnv, hasStackTrace, runCli } from "../helpers/cli.ts";

// `ganboard up` must fail fast, with a message a person can act on, before anything starts.
describe("ganboard up: start-up errors", () => {
  it("names the masked DATABASE_URL when that server cannot be reached, without a stack trace", async () => {
    const deadPort = await findFreePort(); // nothing listens here
    const dashboardPort = await findFreePort();
    const url = `postgres://ganboard:s3cret-pw@127.0.0.1:${deadPort}/nowhere`;
    const result = await runCli(["up", "--port", String(dashboardPort)], { env: cliEnv({ DATABASE_URL: url }) });

    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain(`postgres://ganboard:***@127.0.0.1:${deadPort}/nowhere`);
    expect(result.stderr).toMatch(/connection refused/i);
    expect(result.stderr + result.stdout).not.toContain("s3cret-pw");
    expect(hasStackTrace(result.stderr)).toBe(false);
    expect(result.stdout).not.toMatch(/^http:\/\//m); // never claims to be up
  });

  it("refuses a non-loopback --host without GANBOARD_TOKEN", async () => {
    const port = await findFreePort();
    const result = await runCli(["up", "--host", "0.0.0.0", "--port", String(port)], {
      env: cliEnv({ GANBOARD_TOKEN: undefined, DATABASE_URL: "postgres://nobody@127.0.0.1:1/never-contacted" }),
    });
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/refusing to serve the dashboard on 0\.0\.0\.0/);
    expect(result.stderr).toContain("GANBOARD_TOKEN");
    // Refused before touching the database.
    expect(result.stderr).not.toContain("never-contacted");
    expect(hasStackTrace(result.stderr)).toBe(false);
  });

  describe("with the port taken", () => {
    let blocker: net.Server;
    let port: number;
    beforeAll(async () => {
      blocker = net.createServer();
      await new Promise<void>((resolve) => blocker.listen({ host: "127.0.0.1", port: 0 }, resolve));
      const address = blocker.address();
      port = typeof address === "object" && address ? address.port : 0;
    });
    afterAll(() => new Promise<void>((resolve) => blocker.close(() => resolve())));

    it("says the port is in use and how to choose another", async () => {
      const result = await runCli(["up", "--port", String(port)], {
        env: cliEnv({ DATABASE_URL: "postgres://nobody@127.0.0.1:1/never-contacted" }),
      });
      expect(result.code).not.toBe(0);
      expect(result.stderr).toContain(`port ${port} on 127.0.0.1 is already in use`);
      expect(result.stderr).toContain("--port");
      expect(result.stderr).not.toContain("never-contacted");
      expect(hasStackTrace(result.stderr)).toBe(false);
    });
  });

  it("rejects a malformed --port with commander's usage error", async () => {
    const result = await runCli(["up", "--port", "70000"], { env: cliEnv({}) });
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/port is a whole number from 1 to 65535/);
  });
});
