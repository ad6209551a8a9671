import crypto from "node:crypto";
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import sharp from "sharp";
import { expect, test } from "@playwright/test";
import { appRouter } from "@ganboard/api";
import { connect, createSweep, enqueueTrial, getTrial, registerRunner, saveCheckpoint, saveSample, type Sql } from "@ganboard/db";
import { findFreePort } from "../../apps/cli/src/lib/net.ts";
import { repoRoot, runCli, startCli, type LongRunningCli } from "../helpers/cli.ts";
import { freshTarget, UP_READY_TIMEOUT_MS } from "./support.ts";

// Access: with a network bind and GANBOARD_TOKEN every page, route handler and tRPC procedure
// refuses a missing or wrong token. Routes are listed from the files under apps/dashboard/app and
// the procedures from appRouter, so a route added later is covered without touching this test.
// Also: the default bind is loopback only, the database password never shows, one `up` per data
// folder, and a killed dashboard comes back while a runner keeps training.

const appDir = path.join(repoRoot, "apps", "dashboard", "app");
/** Public on purpose: the sign-in form and its POST target. Anything else public is a leak. */
const PUBLIC = new Set(["/login", "/api/login"]);

interface Route {
  kind: "page" | "handler";
  /** The route pattern, e.g. /runs/[id]. */
  pattern: string;
  methods: string[];
}

/** Every page.tsx and route.ts under app/, as URL patterns (route groups dropped). */
function listRoutes(dir = appDir, prefix = ""): Route[] {
  const out: Route[] = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      if (entry.name.startsWith("_") || entry.name.startsWith("@")) continue; // private folders, parallel slots
      const segment = /^\(.*\)$/.test(entry.name) ? "" : `/${entry.name}`;
      out.push(...listRoutes(full, prefix + segment));
    } else if (/^page\.(tsx|ts|jsx|js)$/.test(entry.name)) {
      out.push({ kind: "page", pattern: prefix || "/", methods: ["GET"] });
    } else if (/^route\.(ts|js)$/.test(entry.name)) {
      const text = fs.readFileSync(full, "utf8");
      const methods = new Set<string>();
      for (const m of text.matchAll(/export\s+(?:async\s+)?(?:function|const)\s+(GET|POST|PUT|PATCH|DELETE|HEAD|OPTIONS)\b/g)) methods.add(m[1]);
      for (const m of text.matchAll(/export\s*\{([^}]*)\}/g)) for (const name of m[1].matchAll(/\bas\s+(GET|POST|PUT|PATCH|DELETE|HEAD|OPTIONS)\b/g)) methods.add(name[1]);
      out.push({ kind: "handler", pattern: prefix, methods: [...methods] });
    }
  }
  return out;
}

/** tRPC procedures by dotted path, with their type. */
function listProcedures(): { path: string; type: string }[] {
  const procedures = (appRouter as unknown as { _def: { procedures: Record<string, { _def: { type: string } }> } })._def.procedures;
  return Object.entries(procedures).map(([p, proc]) => ({ path: p, type: proc._def.type }));
}

interface Seeded {
  sweepId: string;
  trialId: string;
}

/** A concrete URL for a route pattern: ids of real rows, 1 for epochs and other numbers. */
function concrete(pattern: string, ids: Seeded): string {
  const parts = pattern.split("/");
  return parts
    .map((part, i) => {
      const m = /^\[\[?(?:\.\.\.)?(\w+)\]?\]$/.exec(part);
      if (!m) return part;
      if (/epoch|step|index|number|^n$/i.test(m[1])) return "1";
      return parts[i - 1] === "sweeps" ? ids.sweepId : ids.trialId;
    })
    .join("/");
}

async function seed(sql: Sql, name: string): Promise<Seeded> {
  const { id: sweepId } = await createSweep(sql, { name, method: "random", run_cap: 1, parameters: { lr_g: { values: [0.001] } }, base: { resolution: 32 } });
  await sql`update sweeps set status = 'stopped', finished_at = now() where id = ${sweepId}`; // no runner should pick it up
  const { id: trialId } = await enqueueTrial(sql, { config: { resolution: 32, epochs: 1 } });
  const png = await sharp({ create: { width: 8, height: 8, channels: 3, background: { r: 9, g: 99, b: 199 } } }).png().toBuffer();
  await saveSample(sql, trialId, { epoch: 1, step: 4, png, width: 8, height: 8 });
  await saveCheckpoint(sql, trialId, { epoch: 1, step: 4, data: new Uint8Array([1, 2, 3]), reason: "final" });
  return { sweepId, trialId };
}

/** A raw request whose path is sent exactly as written (fetch would normalise `..` and `%2F`). */
function rawGet(base: string, rawPath: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: url.hostname, port: url.port, path: rawPath, method: "GET", headers }, (res) => {
      let body = "";
      res.setEncoding("utf8").on("data", (c: string) => (body += c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on("error", reject);
    req.end();
  });
}

function nonLoopbackIPv4(): string | undefined {
  return Object.values(os.networkInterfaces())
    .flat()
    .find((a) => a && a.family === "IPv4" && !a.internal)?.address;
}

function filesUnder(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return (fs.readdirSync(dir, { recursive: true }) as string[]).map((f) => path.join(dir, f)).filter((f) => fs.statSync(f).isFile());
}

test("with GANBOARD_TOKEN on a network bind, every page, route handler and procedure refuses a missing or wrong token", async ({ page }) => {
  test.setTimeout(10 * 60_000);
  const token = crypto.randomBytes(24).toString("base64url");
  // Its own data folder, also when DATABASE_URL points the database elsewhere.
  const target = await freshTarget({ GANBOARD_TOKEN: token, GANBOARD_HOME: fs.mkdtempSync(path.join(os.tmpdir(), "ganboard-access-")) });
  const port = await findFreePort("0.0.0.0");
  let up: LongRunningCli | undefined;
  let db: ReturnType<typeof connect> | undefined;
  try {
    up = startCli(["up", "--host", "0.0.0.0", "--port", String(port), "--runners", "0"], { env: target.env });
    const base = await up.waitForStdout(/^http:\/\/127\.0\.0\.1:\d+\/$/, UP_READY_TIMEOUT_MS);
    const databaseUrl = await target.url();
    const password = decodeURIComponent(new URL(databaseUrl).password);
    db = connect(databaseUrl, { max: 2 });
    const htmlName = `<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script> Robert'); DROP TABLE trials;--`;
    const ids = await seed(db.sql, htmlName);

    const routes = listRoutes();
    // The walk found the app: pages, the tRPC handler and the file routes (grids, timelapse, checkpoint).
    expect(routes.map((r) => r.pattern)).toEqual(expect.arrayContaining(["/", "/login", "/api/trpc/[trpc]", "/api/login"]));
    expect(routes.filter((r) => r.kind === "handler").length).toBeGreaterThan(2);
    const bodies: string[] = [];
    const wrongs: Record<string, string>[] = [
      {},
      { Authorization: "Bearer not-the-token" },
      { Authorization: `Bearer ${token}x` },
      { Authorization: `Basic ${Buffer.from(`x:${token}`).toString("base64")}` },
      { Cookie: `ganboard_session=${token}` }, // the raw token is not a session
    ];
    const checked: string[] = [];
    for (const route of routes) {
      if (PUBLIC.has(route.pattern)) continue;
      if (route.pattern === "/api/trpc/[trpc]") continue; // procedure by procedure below
      const url = new URL(concrete(route.pattern, ids).slice(1), base).toString();
      expect(route.methods.length, `${route.pattern} exports no HTTP method the walk recognised`).toBeGreaterThan(0);
      for (const method of route.methods) {
        for (const headers of wrongs) {
          const res = await fetch(url, { method, headers, redirect: "manual" });
          const what = `${method} ${route.pattern} with ${JSON.stringify(headers).replace(token, "<token>")}`;
          if (route.kind === "page") {
            expect(res.status, what).toBe(303);
            expect(res.headers.get("location"), what).toMatch(/\/login\?next=/);
          } else {
            expect(res.status, what).toBe(401);
          }
          const body = await res.text();
          expect(body, what).not.toContain(htmlName);
          expect(body.length, what).toBeLessThan(1_000); // a refusal, not an image, a checkpoint or a page
        }
        // With the token the route answers (a 200 for the seeded rows), so the refusals above were about the token.
        const res = await fetch(url, { method, headers: { Authorization: `Bearer ${token}` }, redirect: "manual" });
        expect([200, 204, 404, 405], `${method} ${route.pattern} with the token → ${res.status}`).toContain(res.status);
        if (method === "GET") expect(res.status, `GET ${route.pattern} with the token`).toBe(200);
        bodies.push(await res.text());
        checked.push(`${method} ${route.pattern}`);
      }
    }

    const procedures = listProcedures();
    expect(procedures.length).toBeGreaterThan(5);
    for (const proc of procedures) {
      const url = new URL(`api/trpc/${proc.path}`, base);
      const call = (headers: Record<string, string>) =>
        proc.type === "query"
          ? fetch(`${url}?input=${encodeURIComponent(JSON.stringify({ id: ids.trialId }))}`, { headers })
          : fetch(url, { method: "POST", headers: { ...headers, "content-type": "application/json" }, body: JSON.stringify({ id: "not-an-id" }) });
      for (const headers of wrongs) {
        const res = await call(headers);
        expect(res.status, `${proc.type} ${proc.path} with ${JSON.stringify(headers).replace(token, "<token>")}`).toBe(401);
        expect(await res.text()).toMatch(/requires a token/);
      }
      const res = await call({ Authorization: `Bearer ${token}` });
      expect(res.status, `${proc.path} with the token`).not.toBe(401);
      bodies.push(await res.text());
      checked.push(`trpc ${proc.path}`);
    }
    // Batched calls and paths dressed up to look public are refused too.
    const sneaky = [
      `/api/trpc/status,runners.list?batch=1&input=${encodeURIComponent("{}")}`,
      "/login/../api/trpc/status",
      "/api/login/../trpc/status",
      "/_next/static/..%2F..%2Fapi%2Ftrpc%2Fstatus",
      "//api/trpc/status",
      "/API/trpc/status",
      "/api/trpc/status%3Flogin",
      `/api/trials/${ids.trialId}/checkpoint?login`,
    ];
    for (const p of sneaky) {
      const res = await rawGet(base, p);
      expect([303, 307, 308, 400, 401, 404], `${p} → ${res.status}`).toContain(res.status);
      expect(res.body, p).not.toMatch(/migrations|"version"/);
    }

    // Signed in (the cookie), the HTML name is shown as text, never run as markup.
    await page.context().setExtraHTTPHeaders({ Authorization: `Bearer ${token}` });
    await page.addInitScript(() => Object.defineProperty(window, "__pwned", { set: () => { throw new Error("injected script ran"); }, get: () => undefined }));
    await page.goto(new URL(`sweeps/${ids.sweepId}`, base).toString());
    await expect(page.getByText(htmlName, { exact: false }).first()).toBeVisible();
    expect(await page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned)).toBeUndefined();
    expect(await page.locator("img[src='x']").count()).toBe(0);
    bodies.push(await page.content());
    // A runner's host name is shown the same way on the runners page.
    await registerRunner(db.sql, { id: "html-named", hostname: htmlName, pid: 1, backend: "wasm", device: "cpu" });
    await page.goto(new URL("runners", base).toString());
    await expect(page.getByText(htmlName, { exact: false }).first()).toBeVisible();
    expect(await page.locator("img[src='x']").count()).toBe(0);
    bodies.push(await page.content());
    await page.goto(new URL("status", base).toString());
    bodies.push(await page.content());

    // Reachable from the network (that is what the token is for): the same refusal on the LAN address.
    const lan = nonLoopbackIPv4();
    if (lan) expect((await fetch(`http://${lan}:${port}/api/trpc/status`)).status).toBe(401);

    // A second `up` on this data folder names the first and changes nothing.
    const record = fs.readFileSync(path.join(target.env.GANBOARD_HOME!, "up.json"), "utf8");
    const [before] = await db.sql<{ n: number }[]>`select (select count(*) from trials) + (select count(*) from sweeps) + (select count(*) from runners) as n`;
    const second = await runCli(["up", "--port", String(await findFreePort())], { env: target.env, timeoutMs: 60_000 });
    expect(second.code).toBe(1);
    expect(second.stderr).toContain(`ganboard is already running from this data folder (${target.env.GANBOARD_HOME}): pid ${up.child.pid}`);
    expect(second.stderr).toContain(`dashboard at ${base}`);
    expect(fs.readFileSync(path.join(target.env.GANBOARD_HOME!, "up.json"), "utf8")).toBe(record);
    const [after] = await db.sql<{ n: number }[]>`select (select count(*) from trials) + (select count(*) from sweeps) + (select count(*) from runners) as n`;
    expect(after.n).toBe(before.n);
    expect((await fetch(new URL("api/trpc/status", base), { headers: { Authorization: `Bearer ${token}` } })).status).toBe(200);

    // The database password shows nowhere: pages, API answers, the CLI's output, the logs.
    if (target.embedded) expect(password.length).toBeGreaterThan(8); // the embedded server's is random
    if (password === "") test.info().annotations.push({ type: "note", description: "DATABASE_URL has no password: only the masking path was exercised" });
    const logs = filesUnder(path.join(target.env.GANBOARD_HOME!, "logs")).map((f) => fs.readFileSync(f, "utf8"));
    expect(logs.length).toBeGreaterThan(0);
    if (password) for (const text of [...bodies, up.stdout(), up.stderr(), second.stdout, second.stderr, ...logs]) expect(text.includes(password)).toBe(false);
    test.info().annotations.push({ type: "routes checked", description: checked.join(", ") });

    const exit = await up.stop("SIGTERM", 60_000);
    expect(exit, up.stderr()).toEqual({ code: 0, signal: null });
    expect(fs.existsSync(path.join(target.env.GANBOARD_HOME!, "up.json"))).toBe(false);
  } finally {
    await db?.close();
    if (up) await up.stop("SIGTERM", 30_000);
    await target.cleanup();
  }
});

test("default bind is loopback only; a killed dashboard is restarted while the runner keeps training, and the database is untouched", async () => {
  test.setTimeout(10 * 60_000);
  const target = await freshTarget({ GANBOARD_TOKEN: undefined, GANBOARD_HEARTBEAT_MS: "1000" });
  const port = await findFreePort();
  let up: LongRunningCli | undefined;
  let db: ReturnType<typeof connect> | undefined;
  try {
    up = startCli(["up", "--port", String(port), "--runners", "1"], { env: target.env });
    const base = await up.waitForStdout(/^http:\/\/127\.0\.0\.1:\d+\/$/, UP_READY_TIMEOUT_MS);
    expect(base).toBe(`http://127.0.0.1:${port}/`);
    const lan = nonLoopbackIPv4();
    if (lan) await expect(fetch(`http://${lan}:${port}/`)).rejects.toThrow();

    db = connect(await target.url(), { max: 2 });
    const sql = db.sql;
    const config = { dataset: { kind: "cartoon-faces", count: 16, seed: 0 }, resolution: 32, epochs: 150, batch_size: 4, ngf: 4, ndf: 4, z_dim: 8, grid_size: 2, swd_samples: 0, backend: "wasm" };
    const { id } = await enqueueTrial(sql, { config });
    const stepOf = async () => (await sql<{ max: number | null }[]>`select max(step) as max from metrics where trial_id = ${id} and key = 'loss_d'`)[0].max ?? 0;
    await expect.poll(stepOf, { timeout: 120_000 }).toBeGreaterThan(8);
    const before = await getTrial(sql, id);
    const otherRows = async () => sql`select (select count(*) from sweeps) as sweeps, (select count(*) from trials) as trials, (select count(*) from runners) as runners,
      (select count(*) from trials where status <> 'running') as not_running`;
    const rowsBefore = await otherRows();

    // The process listening on the port (Next renames itself to next-server, so not by command line).
    const listeners = execFileSync("ss", ["-Hltnp", `sport = :${port}`], { encoding: "utf8" });
    const pids = [...new Set([...listeners.matchAll(/pid=(\d+)/g)].map((m) => Number(m[1])))];
    expect(pids.length, listeners).toBeGreaterThan(0);
    for (const pid of pids) process.kill(pid, "SIGKILL");
    await expect.poll(async () => fetch(base).then((r) => r.status, () => 0), { timeout: 15_000 }).toBe(0);
    const stepWhileDown = await stepOf();
    await expect.poll(() => up!.stderr(), { timeout: 10_000 }).toMatch(/dashboard stopped unexpectedly \(SIGKILL\)\. Restarting it/);
    await expect.poll(async () => fetch(base).then((r) => r.status, () => 0), { timeout: 120_000 }).toBe(200);
    expect((await fetch(new URL("api/trpc/status", base))).status).toBe(200);

    // The trial went on with the same runner and attempt; nothing else in the database moved.
    await expect.poll(stepOf, { timeout: 30_000 }).toBeGreaterThan(stepWhileDown);
    const during = await getTrial(sql, id);
    expect({ status: during?.status, attempt: during?.attempt, runner: during?.runnerId }).toEqual({ status: "running", attempt: 1, runner: before?.runnerId });
    expect(await otherRows()).toEqual(rowsBefore);
    await expect.poll(async () => (await getTrial(sql, id))?.status, { timeout: 240_000 }).toBe("completed");
    const [series] = await sql<{ n: number; d: number; max: number }[]>`
      select count(*)::int as n, count(distinct step)::int as d, max(step) as max from metrics where trial_id = ${id} and key = 'loss_d'`;
    expect(series).toEqual({ n: 600, d: 600, max: 600 });
    expect((await getTrial(sql, id))?.attempt).toBe(1);

    const exit = await up.stop("SIGTERM", 90_000);
    expect(exit, up.stderr()).toEqual({ code: 0, signal: null });
  } finally {
    await db?.close();
    if (up) await up.stop("SIGTERM", 30_000);
    await target.cleanup();
  }
});
