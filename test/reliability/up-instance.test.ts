/**
 * Two `ganboard up` on one data folder: the second says that one is running and where, and changes
 * nothing. (The browser suite checks it beside a real running `up`; here the record is planted so
 * no dashboard build is needed.)
 */
import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, expect, it } from "vitest";
import { findFreePort } from "../../apps/cli/src/lib/net.ts";
import { cliEnv, hasStackTrace, runCli } from "../helpers/cli.ts";

const home = fs.mkdtempSync(path.join(os.tmpdir(), "ganboard-instance-"));
const holder = spawn("sleep", ["600"], { stdio: "ignore" });
afterAll(() => {
  holder.kill("SIGKILL");
  fs.rmSync(home, { recursive: true, force: true });
});

function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of fs.readdirSync(dir, { recursive: true }) as string[]) {
    const full = path.join(dir, name);
    if (fs.statSync(full).isFile()) out[name] = fs.readFileSync(full, "utf8");
  }
  return out;
}

it("a second up on the same GANBOARD_HOME names the running one (pid, URL) and touches nothing", async () => {
  const record = { pid: holder.pid, host: "127.0.0.1", port: 3123, url: "http://127.0.0.1:3123/", startedAt: "2026-12-03T21:00:00.000Z" };
  fs.writeFileSync(path.join(home, "up.json"), `${JSON.stringify(record)}\n`);
  const before = snapshot(home);
  const port = await findFreePort();
  const result = await runCli(["up", "--port", String(port)], { env: cliEnv({ GANBOARD_HOME: home, DATABASE_URL: "postgres://nobody@127.0.0.1:1/never-contacted" }) });
  expect(result.code).toBe(1);
  expect(result.stderr).toContain(`ganboard is already running from this data folder (${home}): pid ${holder.pid}`);
  expect(result.stderr).toContain("dashboard at http://127.0.0.1:3123/");
  expect(result.stderr).toContain(`kill ${holder.pid}`);
  expect(result.stderr).not.toContain("never-contacted"); // refused before the database is touched
  expect(hasStackTrace(result.stderr)).toBe(false);
  expect(snapshot(home)).toEqual(before); // no logs, no database folder, the record unchanged
});

it("a record left by a killed up is taken over (and given back when this up stops)", async () => {
  const dead = spawn("true");
  await new Promise((r) => dead.once("exit", r));
  fs.writeFileSync(path.join(home, "up.json"), `${JSON.stringify({ pid: dead.pid, host: "127.0.0.1", port: 1, url: null, startedAt: "x" })}\n`);
  fs.utimesSync(path.join(home, "up.json"), new Date(0), new Date(0));
  const result = await runCli(["up", "--port", String(await findFreePort())], { env: cliEnv({ GANBOARD_HOME: home, DATABASE_URL: "postgres://nobody@127.0.0.1:1/unreachable" }) });
  // It went on to the database (unreachable here) instead of refusing, and left no record behind.
  expect(result.code).toBe(1);
  expect(result.stderr).not.toContain("already running");
  expect(result.stderr).toMatch(/unreachable|refused/i);
  expect(fs.existsSync(path.join(home, "up.json"))).toBe(false);
});
