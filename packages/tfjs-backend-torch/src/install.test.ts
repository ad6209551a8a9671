/**
 * The install hook never fails an install for want of libtorch, and the package then reports itself
 * unavailable (with what to do) instead of throwing. Runs on copies in a temp dir, so the real build
 * is untouched; needs no libtorch.
 */
import { spawnSync } from "node:child_process";
import { cpSync, mkdtempSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";

const pkgDir = join(dirname(fileURLToPath(import.meta.url)), "..");
const work = mkdtempSync(join(tmpdir(), "torch-install-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function copyPackage(): string {
  const dir = mkdtempSync(join(work, "pkg-"));
  for (const p of ["scripts", "native", "binding.gyp", "package.json"]) cpSync(join(pkgDir, p), join(dir, p), { recursive: true });
  return dir;
}

function install(env: Record<string, string>, args: string[] = []) {
  const dir = copyPackage();
  const res = spawnSync(process.execPath, [join(dir, "scripts", "install.mjs"), ...args], {
    cwd: dir,
    encoding: "utf8",
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", ...env },
    timeout: 120_000,
  });
  return { code: res.status, out: `${res.stdout}${res.stderr}`.trim() };
}

describe("install without libtorch", () => {
  it("LIBTORCH=none: skips quietly with one line on how to get native speed, exit 0", () => {
    const r = install({ LIBTORCH: "none" });
    expect(r.code).toBe(0);
    expect(r.out.split("\n")).toHaveLength(1);
    expect(r.out).toMatch(/skipped the native build/);
    expect(r.out).toMatch(/apt-get install libtorch-dev/);
    expect(r.out).toMatch(/pip install torch/);
  });

  it("a machine with no libtorch-dev and no pip torch (empty sysroot, no python): exit 0", () => {
    const empty = mkdtempSync(join(work, "root-"));
    mkdirSync(join(empty, "usr", "include"), { recursive: true });
    const r = install({ GANBOARD_LIBTORCH_SYSROOT: empty, GANBOARD_PYTHON: join(empty, "no-python") });
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/no libtorch found.*skipped the native build/);
  });

  it("LIBTORCH naming a folder without libtorch says so, still exit 0", () => {
    const bogus = mkdtempSync(join(work, "bogus-"));
    const r = install({ LIBTORCH: bogus });
    expect(r.code).toBe(0);
    expect(r.out).toContain(`LIBTORCH=${bogus} has no include/ATen/ATen.h and lib/libtorch_cpu.so`);
  });

  it("--force (CI) turns a missing libtorch into a failure", () => {
    expect(install({ LIBTORCH: "none" }, ["--force"]).code).toBe(1);
  });

  it("without the addon, registerTorchBackend reports unavailable with the reason instead of throwing", () => {
    const script = join(work, "probe.mts");
    writeFileSync(
      script,
      `import { registerTorchBackend, nativeStatus } from ${JSON.stringify(join(pkgDir, "src", "index.ts"))};
       const s = await registerTorchBackend({ device: "cpu" });
       console.log(JSON.stringify({ s, n: nativeStatus() }));`,
    );
    const tsx = join(pkgDir, "..", "..", "node_modules", ".bin", "tsx");
    const res = spawnSync(tsx, [script], {
      encoding: "utf8",
      env: { ...process.env, GANBOARD_TORCH_ADDON: join(work, "missing", "torch_backend.node") },
      timeout: 120_000,
    });
    expect(res.status, res.stderr).toBe(0);
    const { s, n } = JSON.parse(res.stdout.trim().split("\n").pop()!);
    expect(s.available).toBe(false);
    expect(s.reason).toMatch(/not built.*apt-get install libtorch-dev/);
    expect(n.built).toBe(false);
  });
});
