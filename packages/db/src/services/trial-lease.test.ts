import { describe, expect, it } from "vitest";
import { DEFAULT_HEARTBEAT_MS, DEFAULT_MAX_ATTEMPTS, msFromEnv, trialLeaseSettingsFromEnv } from "./trial-queue.ts";

describe("lease settings from the environment (runners and the dashboard read the same ones)", () => {
  it("unset variables take the defaults: grace is 1.75 heartbeat periods", () => {
    expect(trialLeaseSettingsFromEnv({})).toEqual({ heartbeatMs: DEFAULT_HEARTBEAT_MS, staleAfterMs: DEFAULT_HEARTBEAT_MS * 1.75, maxAttempts: DEFAULT_MAX_ATTEMPTS });
    expect(trialLeaseSettingsFromEnv({ GANBOARD_HEARTBEAT_MS: "400" })).toEqual({ heartbeatMs: 400, staleAfterMs: 700, maxAttempts: DEFAULT_MAX_ATTEMPTS });
    expect(trialLeaseSettingsFromEnv({ GANBOARD_HEARTBEAT_MS: "400", GANBOARD_STALE_AFTER_MS: "5000", GANBOARD_MAX_ATTEMPTS: "3" })).toEqual({
      heartbeatMs: 400,
      staleAfterMs: 5000,
      maxAttempts: 3,
    });
  });

  it("a bad value is refused with the variable's name, what it must be and what it got", () => {
    expect(() => trialLeaseSettingsFromEnv({ GANBOARD_HEARTBEAT_MS: "fast" })).toThrow('GANBOARD_HEARTBEAT_MS must be a positive number of milliseconds (got "fast")');
    expect(() => trialLeaseSettingsFromEnv({ GANBOARD_STALE_AFTER_MS: "-1" })).toThrow('GANBOARD_STALE_AFTER_MS must be a positive number of milliseconds (got "-1")');
    expect(() => trialLeaseSettingsFromEnv({ GANBOARD_MAX_ATTEMPTS: "2.5" })).toThrow('GANBOARD_MAX_ATTEMPTS must be a positive integer (got "2.5")');
    expect(() => trialLeaseSettingsFromEnv({ GANBOARD_MAX_ATTEMPTS: "0" })).toThrow("GANBOARD_MAX_ATTEMPTS must be a positive integer");
  });

  it("msFromEnv reads other durations (GANBOARD_POLL_MS) with the same rule", () => {
    expect(msFromEnv("GANBOARD_POLL_MS", {})).toBeUndefined();
    expect(msFromEnv("GANBOARD_POLL_MS", { GANBOARD_POLL_MS: "250" })).toBe(250);
    expect(() => msFromEnv("GANBOARD_POLL_MS", { GANBOARD_POLL_MS: "0" })).toThrow('GANBOARD_POLL_MS must be a positive number of milliseconds (got "0")');
  });
});
