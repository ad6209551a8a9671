/**
 * Runs in its own thread: training steps are synchronous and can block the main event loop for
 * seconds, which must not make a healthy trial look dead. The main thread publishes progress in
 * shared memory and ticks a clock; if that clock stops (a hung process), the beats stop too, so a
 * stuck runner still loses its trial.
 */
import { parentPort, workerData } from "node:worker_threads";
import { connect, recordHeartbeat, touchRunner } from "@ganboard/db";
import { SLOT, type HeartbeatWorkerData, type HeartbeatMessage } from "./heartbeat.ts";

const data = workerData as HeartbeatWorkerData;
const shared = new Float64Array(data.shared);
const connection = connect(data.url, { max: 1, applicationName: "ganboard-runner-heartbeat" });
let stopped = false;

function post(message: HeartbeatMessage): void {
  parentPort?.postMessage(message);
}

async function beat(): Promise<void> {
  const mainThreadStalled = Date.now() - shared[SLOT.mainTick] > data.stallMs;
  if (mainThreadStalled) {
    post({ type: "stalled" });
    return;
  }
  try {
    await touchRunner(connection.sql, data.runnerId);
    const trialId = data.trialIds[shared[SLOT.trialIndex]];
    if (trialId) {
      const objective = shared[SLOT.objective];
      const status = await recordHeartbeat(connection.sql, trialId, data.runnerId, {
        epoch: shared[SLOT.epoch],
        step: shared[SLOT.step],
        objective: Number.isNaN(objective) ? null : objective,
      });
      post({ type: "status", trialId, status });
    }
  } catch (error) {
    post({ type: "error", message: (error as Error).message, code: (error as { code?: string }).code });
  }
}

parentPort?.on("message", async (message: { type: "stop" } | { type: "trial"; index: number; trialId: string }) => {
  if (message.type === "trial") {
    data.trialIds[message.index] = message.trialId;
    return;
  }
  stopped = true;
  await connection.close().catch(() => {});
  process.exit(0);
});

post({ type: "ready" });
while (!stopped) {
  const started = Date.now();
  await beat();
  await new Promise((resolve) => setTimeout(resolve, Math.max(0, data.intervalMs - (Date.now() - started))));
}
