import * as tf from "@tensorflow/tfjs";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { selectBackend, torchDevices } from "./backend.ts";
import { BackendUnavailableError } from "./errors.ts";

// These tests are about choosing, so a suite-wide GANBOARD_TEST_BACKEND (see backend.ts) is set aside here.
const suiteBackend = process.env.GANBOARD_TEST_BACKEND;
beforeEach(() => {
  delete process.env.GANBOARD_TEST_BACKEND;
});
afterEach(() => {
  delete process.env.GANBOARD_BACKEND;
  if (suiteBackend === undefined) delete process.env.GANBOARD_TEST_BACKEND;
  else process.env.GANBOARD_TEST_BACKEND = suiteBackend;
});

describe("selectBackend", () => {
  it("forces wasm: binaries from node_modules, training kernels registered, reported with versions", async () => {
    const info = await selectBackend("wasm");
    expect(tf.getBackend()).toBe("wasm");
    expect(info).toMatchObject({ name: "wasm", versions: { "tfjs-core": tf.version_core, "tfjs-backend-wasm": expect.any(String) } });
    expect(info.device).toMatch(/^CPU \(wasm/);
    expect(tf.getKernel("Conv2DBackpropFilter", "wasm")).toBeDefined(); // missing from stock tfjs-backend-wasm
  });

  it("forces cpu via GANBOARD_BACKEND", async () => {
    process.env.GANBOARD_BACKEND = "cpu";
    const info = await selectBackend();
    expect(info.name).toBe("cpu");
    expect(tf.getBackend()).toBe("cpu");
  });

  it("a forced backend that cannot load is an error that says why", async () => {
    let error: unknown;
    try {
      await selectBackend("tensorflow-gpu");
    } catch (e) {
      error = e;
    }
    // Where @tensorflow/tfjs-node-gpu is installed this resolves instead; here (no libtensorflow) it cannot be.
    if (error === undefined) return;
    expect(error).toBeInstanceOf(BackendUnavailableError);
    expect((error as Error).message).toMatch(/tensorflow-gpu.*@tensorflow\/tfjs-node-gpu/);
  });

  it("GANBOARD_TEST_BACKEND replaces explicit choices too (runs the engine suite on one backend)", async () => {
    process.env.GANBOARD_TEST_BACKEND = "cpu";
    expect((await selectBackend("wasm")).name).toBe("cpu");
    expect(tf.getBackend()).toBe("cpu");
    process.env.GANBOARD_TEST_BACKEND = "tpu";
    await expect(selectBackend("wasm")).rejects.toThrow(/GANBOARD_TEST_BACKEND=tpu is not a backend/);
  });

  it("rejects an unknown GANBOARD_BACKEND by name", async () => {
    process.env.GANBOARD_BACKEND = "webgpu";
    await expect(selectBackend()).rejects.toThrow(/GANBOARD_BACKEND=webgpu is not a backend; use one of tensorflow-gpu, torch, tensorflow, wasm, cpu/);
  });
});

describe("torchDevices", () => {
  it("tries CUDA then CPU, or only the device GANBOARD_TORCH_DEVICE names", () => {
    expect(torchDevices({})).toEqual(["cuda", "cpu"]);
    expect(torchDevices({ GANBOARD_TORCH_DEVICE: "cpu" })).toEqual(["cpu"]);
    expect(torchDevices({ GANBOARD_TORCH_DEVICE: " CUDA " })).toEqual(["cuda"]);
    expect(() => torchDevices({ GANBOARD_TORCH_DEVICE: "gpu0" })).toThrow('GANBOARD_TORCH_DEVICE must be cuda or cpu, got "gpu0"');
  });
});
