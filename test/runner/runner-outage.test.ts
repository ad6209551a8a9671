/**
 * The database goes away for a few seconds mid-trial. The runner reaches Postgres through a TCP
 * proxy that this test cuts (every connection reset, new ones refused) and restores, which is what a
 * restarted server looks like from the runner's side, on the embedded and the external path alike.
 * Training goes on, writes are retried with backoff, and no point is lost.
 */
import net from "node:net";
import { afterAll, beforeAll, expect, it } from "vitest";
import { enqueueTrial, getTrial } from "@ganboard/db";
import { createTestDatabase, type TestDatabase } from "@ganboard/db/testing";
import { spawnRunner, tempHome, tinyConfig, waitFor } from "./helpers.ts";

class CuttableProxy {
  private server: net.Server | null = null;
  private sockets = new Set<net.Socket>();
  port = 0;
  constructor(private readonly target: { host: string; port: number }) {}

  async open(port = 0): Promise<void> {
    this.server = net.createServer((client) => {
      const upstream = net.connect(this.target.port, this.target.host);
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on("close", () => this.sockets.delete(s));
        s.on("error", () => {});
      }
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((resolve) => this.server!.listen(port, "127.0.0.1", resolve));
    this.port = (this.server.address() as net.AddressInfo).port;
  }

  async cut(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server?.close(() => resolve()) ?? resolve());
    this.server = null;
  }
}

let t: TestDatabase;
let proxy: CuttableProxy;

beforeAll(async () => {
  t = await createTestDatabase();
  const url = new URL(t.url);
  proxy = new CuttableProxy({ host: url.hostname, port: Number(url.port || 5432) });
  await proxy.open();
});
afterAll(async () => {
  await proxy?.cut();
  await t?.drop();
});

it("Postgres unavailable for a few seconds mid-trial: retried with backoff, no point lost", async () => {
  const proxied = new URL(t.url);
  proxied.hostname = "127.0.0.1";
  proxied.port = String(proxy.port);
  const epochs = 12;
  const { id } = await enqueueTrial(t.sql, { config: tinyConfig({ epochs }) });
  const runner = spawnRunner(proxied.toString(), tempHome(), ["--once", "--name", "outage"], { GANBOARD_STALE_AFTER_MS: "60000" });
  await waitFor("training steps", async () => {
    const [row] = await t.sql<{ n: number }[]>`select count(*)::int as n from metrics where trial_id = ${id} and key = 'loss_d'`;
    return row.n >= 4;
  });
  const port = proxy.port;
  await proxy.cut();
  await new Promise((r) => setTimeout(r, 3_000));
  await proxy.open(port);

  expect(await runner.exited, runner.output()).toBe(0);
  expect(runner.output()).toMatch(/database unavailable while/);
  expect((await getTrial(t.sql, id))?.status).toBe("completed");
  const rows = await t.sql<{ key: string; n: number; distinct_steps: number; max: number }[]>`
    select key, count(*)::int as n, count(distinct step)::int as distinct_steps, max(step) as max
    from metrics where trial_id = ${id} and key in ('loss_d', 'loss_g', 'd_real', 'd_fake', 'd_fake_after', 'grad_norm_d', 'grad_norm_g')
    group by key order by key`;
  expect(rows).toHaveLength(7);
  for (const row of rows) expect(row).toMatchObject({ n: epochs * 4, distinct_steps: epochs * 4, max: epochs * 4 });
  const [grids] = await t.sql<{ n: number }[]>`select count(*)::int as n from samples where trial_id = ${id}`;
  expect(grids.n).toBe(epochs);
});
