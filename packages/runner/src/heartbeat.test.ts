import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { expect, it } from "vitest";

const here = path.dirname(fileURLToPath(import.meta.url));

it("a process whose only pending work is the heartbeat thread starting up waits for it instead of exiting (code 13)", () => {
  // The soak found this: a runner whose idle database sockets a restarting server had just closed,
  // awaiting `heartbeat.ready` with the thread still booting, was ended by Node mid-await. Here nothing
  // else keeps the event loop alive either; the URL is never reached before `ready` (beats come later).
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ganboard-heartbeat-"));
  const script = path.join(dir, "probe.mts");
  fs.writeFileSync(
    script,
    `import { Heartbeat } from ${JSON.stringify(path.join(here, "heartbeat.ts"))};
const heartbeat = new Heartbeat({ url: "postgres://nobody@127.0.0.1:1/none", runnerId: "probe", intervalMs: 60_000, stallMs: 60_000 });
await heartbeat.ready;
console.log("ready");
await heartbeat.stop();
`,
  );
  try {
    const result = spawnSync(process.execPath, ["--import", "tsx", script], { encoding: "utf8", timeout: 60_000, cwd: here });
    expect(result.stdout.trim(), result.stderr).toBe("ready");
    expect(result.status, result.stderr).toBe(0);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
