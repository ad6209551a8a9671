/**
 * The database URL's password never appears in what ganboard prints or stores: not in CLI errors
 * (wrong password, every command that takes --database-url), not in a runner's output, not in trial
 * logs. (Pages, API answers and `up`'s logs are checked in test/browser/access.spec.ts.)
 */
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { enqueueTrial, getTrial, maskUrl } from "@ganboard/db";
import { createTestDatabase, type TestDatabase } from "@ganboard/db/testing";
import { cliEnv, hasStackTrace, runCli } from "../helpers/cli.ts";
import { spawnRunner, tempHome, tinyConfig } from "../runner/helpers.ts";

let t: TestDatabase;
const home = tempHome();
beforeAll(async () => {
  t = await createTestDatabase();
});
afterAll(async () => {
  await t?.drop();
  fs.rmSync(home, { recursive: true, force: true });
});

describe("a wrong password", () => {
  const wrongPassword = "Wr0ng-pa55word-that-must-not-leak";
  const wrongUrl = () => {
    const url = new URL(t.url);
    url.password = wrongPassword;
    return url.toString();
  };
  const config = path.join(home, "ok.yaml");
  fs.writeFileSync(config, "resolution: 32\nepochs: 1\n");
  // --database-url where the command takes it, DATABASE_URL otherwise.
  const commands: [string, string[], boolean][] = [
    ["runner", ["runner", "--once"], true],
    ["run", ["run", config], true],
    ["sweep list", ["sweep", "list"], true],
    ["db status", ["db", "status"], false],
  ];
  it.each(commands)("ganboard %s: refused naming the masked URL, the password nowhere", async (_name, args, flag) => {
    const result = await runCli(flag ? [...args, "--database-url", wrongUrl()] : args, {
      env: cliEnv({ GANBOARD_HOME: home, DATABASE_URL: flag ? undefined : wrongUrl() }),
      timeoutMs: 90_000,
    });
    const output = result.stdout + result.stderr;
    expect(result.code, output).toBe(1);
    expect(output).toMatch(/password authentication failed/);
    expect(output).toContain(maskUrl(wrongUrl()));
    expect(output).not.toContain(wrongPassword);
    expect(output).not.toContain(encodeURIComponent(wrongPassword));
    expect(hasStackTrace(result.stderr)).toBe(false);
  });
});

it("a runner's output and everything it stores about a trial carry no password", async () => {
  const password = decodeURIComponent(new URL(t.url).password);
  expect(password.length).toBeGreaterThan(8);
  const { id } = await enqueueTrial(t.sql, { config: tinyConfig({ epochs: 1 }) });
  const runner = spawnRunner(t.url, home, ["--once", "--name", "discreet"]);
  expect(await runner.exited, runner.output()).toBe(0);
  expect((await getTrial(t.sql, id))?.status).toBe("completed");
  expect(runner.output()).not.toContain(password);
  const [stored] = await t.sql<{ n: number }[]>`
    select (select count(*) from trial_logs where position(${password} in message) > 0)
         + (select count(*) from trials where position(${password} in coalesce(error, '') || config::text) > 0)
         + (select count(*) from runners where position(${password} in id || hostname) > 0) as n`;
  expect(Number(stored.n)).toBe(0);
});
