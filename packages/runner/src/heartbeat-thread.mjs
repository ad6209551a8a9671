// Entry of the heartbeat thread (plain JS: workers do not inherit the tsx loader, so register it here).
import { register } from "tsx/esm/api";

register();
await import("./heartbeat-worker.ts");
