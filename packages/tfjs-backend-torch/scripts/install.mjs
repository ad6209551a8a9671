#!/usr/bin/env node
// npm install/rebuild hook: builds the native addon only when a libtorch is found; otherwise prints one line
// and exits 0 so the install succeeds and the engine falls through to the next backend.
//   --force / GANBOARD_TORCH_REQUIRE=1 : a missing libtorch or a failed build is an error (CI uses this).
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const pkgDir = path.resolve(here, "..");
const require = createRequire(import.meta.url);
const { findLibtorch } = require("./find-libtorch.cjs");

const strict = process.argv.includes("--force") || process.env.GANBOARD_TORCH_REQUIRE === "1";
const HOW_TO =
  "for native speed: `apt-get install libtorch-dev` (Debian/Ubuntu) or `pip install torch` and set " +
  "LIBTORCH=$(python3 -c 'import torch,os;print(os.path.dirname(torch.__file__))'), then `npm rebuild @ganboard/tfjs-backend-torch`";

const { found, reason } = findLibtorch();
if (!found) {
  console.log(`@ganboard/tfjs-backend-torch: ${reason}; skipped the native build (${HOW_TO}).`);
  process.exit(strict ? 1 : 0);
}

function nodeGypBin() {
  try {
    return require.resolve("node-gyp/bin/node-gyp.js");
  } catch {
    // npm ships its own node-gyp.
    const npmCli = process.env.npm_execpath;
    const bundled = npmCli && path.resolve(path.dirname(npmCli), "..", "node_modules", "node-gyp", "bin", "node-gyp.js");
    if (bundled && existsSync(bundled)) return bundled;
    return null;
  }
}

/** Node's headers already on this machine, so node-gyp downloads nothing. */
function nodeDir() {
  for (const dir of [process.env.npm_config_nodedir, path.resolve(path.dirname(process.execPath), ".."), "/usr", "/usr/local"]) {
    if (dir && existsSync(path.join(dir, "include", "node", "node_api.h"))) return dir;
  }
  return null;
}

const gyp = nodeGypBin();
const nodedir = nodeDir();
if (!gyp) {
  console.log(`@ganboard/tfjs-backend-torch: node-gyp not found; skipped the native build (${HOW_TO}).`);
  process.exit(strict ? 1 : 0);
}
// Skip the compile when the addon already matches these sources and this libtorch (npm runs this hook on
// every install in the workspace; a rebuild costs a minute of CPU).
const addon = path.join(pkgDir, "build", "Release", "torch_backend.node");
const stamp = path.join(pkgDir, "build", "libtorch.json");
const sourceHash = createHash("sha256")
  .update(JSON.stringify(found))
  .update(readFileSync(path.join(pkgDir, "native", "addon.cc")))
  .update(readFileSync(path.join(pkgDir, "binding.gyp")))
  .digest("hex");
const force = process.argv.includes("--force") || process.env.npm_command === "rebuild";
if (!force && existsSync(addon)) {
  try {
    if (JSON.parse(readFileSync(stamp, "utf8")).sourceHash === sourceHash) {
      console.log(`@ganboard/tfjs-backend-torch: native addon up to date (libtorch ${found.version}).`);
      process.exit(0);
    }
  } catch {
    /* no stamp: rebuild */
  }
}

// One build at a time: concurrent installs in the workspace would both run node-gyp in build/.
const lockPath = path.join(pkgDir, ".build.lock");
function acquireLock() {
  const deadline = Date.now() + 15 * 60_000;
  for (;;) {
    try {
      closeSync(openSync(lockPath, "wx"));
      return;
    } catch {
      try {
        if (Date.now() - statSync(lockPath).mtimeMs > 15 * 60_000) rmSync(lockPath, { force: true });
      } catch {
        /* lock vanished: retry */
      }
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${lockPath}`);
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 500);
    }
  }
}
acquireLock();
process.on("exit", () => rmSync(lockPath, { force: true }));

const args = [gyp, "rebuild", "--release", "--loglevel=warn", ...(nodedir ? [`--nodedir=${nodedir}`] : [])];
console.log(`@ganboard/tfjs-backend-torch: building against libtorch ${found.version} (${found.source}${found.cuda ? ", CUDA" : ""})…`);
const res = spawnSync(process.execPath, args, {
  cwd: pkgDir,
  stdio: ["ignore", "inherit", "inherit"],
  env: { ...process.env, GANBOARD_TORCH_CONFIG_JSON: JSON.stringify(found), JOBS: process.env.JOBS ?? "max" },
});
if (res.status !== 0) {
  console.log(`@ganboard/tfjs-backend-torch: native build failed (exit ${res.status}); the engine will use the next backend. ${HOW_TO}.`);
  process.exit(strict ? 1 : 0);
}
mkdirSync(path.join(pkgDir, "build"), { recursive: true });
writeFileSync(stamp, JSON.stringify({ ...found, sourceHash }, null, 2) + "\n");
console.log("@ganboard/tfjs-backend-torch: native addon built.");
