// Locates a libtorch to build the addon against. Used by scripts/install.mjs and by
// binding.gyp (`<!@(node scripts/find-libtorch.cjs <field>)`). CommonJS so gyp can run it with plain node.
//
// Search order:
//   1. GANBOARD_LIBTORCH or LIBTORCH: a libtorch root (include/ + lib/), e.g. an unpacked libtorch zip or a pip
//      wheel's site-packages/torch. The value "none" forces "not found" (used by tests and by users who opt out).
//   2. Debian/Ubuntu's libtorch-dev (/usr/include/torch, /usr/lib/<multiarch>/libtorch_cpu.so).
//   3. A pip torch importable by python3 (GANBOARD_PYTHON, then /usr/bin/python3, then python3 on PATH).
// GANBOARD_LIBTORCH_SYSROOT prefixes the system paths of step 2 (tests point it at an empty folder).
"use strict";
const fs = require("node:fs");
const path = require("node:path");
const { execFileSync } = require("node:child_process");

const MULTIARCH = ["x86_64-linux-gnu", "aarch64-linux-gnu", ""];

function readCxxAbiFromCmake(root) {
  const cfg = path.join(root, "share", "cmake", "Torch", "TorchConfig.cmake");
  try {
    const m = /_GLIBCXX_USE_CXX11_ABI=([01])/.exec(fs.readFileSync(cfg, "utf8"));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

function readVersion(includeDir) {
  for (const rel of ["torch/csrc/api/include/torch/version.h", "torch/version.h"]) {
    try {
      const text = fs.readFileSync(path.join(includeDir, rel), "utf8");
      const get = (k) => (new RegExp(`#define TORCH_VERSION_${k}\\s+(\\d+)`).exec(text) || [])[1];
      if (get("MAJOR")) return `${get("MAJOR")}.${get("MINOR")}.${get("PATCH")}`;
    } catch {
      /* try the next layout */
    }
  }
  return "unknown";
}

function fromRoot(root, source, extra = {}) {
  const includeDir = path.join(root, "include");
  const libDir = path.join(root, "lib");
  if (!fs.existsSync(path.join(includeDir, "ATen", "ATen.h"))) return null;
  if (!fs.existsSync(path.join(libDir, "libtorch_cpu.so"))) return null;
  const cuda = fs.existsSync(path.join(libDir, "libtorch_cuda.so"));
  return {
    source,
    root,
    includeDirs: [includeDir, path.join(includeDir, "torch", "csrc", "api", "include")],
    libDir,
    cuda,
    cxx11abi: extra.cxx11abi ?? readCxxAbiFromCmake(root),
    version: extra.version ?? readVersion(includeDir),
  };
}

function fromDebian() {
  const sysroot = process.env.GANBOARD_LIBTORCH_SYSROOT || "/";
  const includeDir = path.join(sysroot, "usr", "include");
  if (!fs.existsSync(path.join(includeDir, "ATen", "ATen.h"))) return null;
  for (const arch of MULTIARCH) {
    const libDir = path.join(sysroot, "usr", "lib", arch);
    if (fs.existsSync(path.join(libDir, "libtorch_cpu.so"))) {
      return {
        source: "system libtorch (libtorch-dev)",
        root: path.join(sysroot, "usr"),
        includeDirs: [includeDir, path.join(includeDir, "torch", "csrc", "api", "include")],
        libDir,
        cuda: fs.existsSync(path.join(libDir, "libtorch_cuda.so")),
        cxx11abi: null, // built with the distribution compiler's default, same as ours
        version: readVersion(includeDir),
      };
    }
  }
  return null;
}

function fromPython() {
  const env = process.env.GANBOARD_PYTHON;
  const candidates = env ? [env] : ["/usr/bin/python3", "python3"];
  const code =
    "import json, os, torch; print(json.dumps({'root': os.path.dirname(torch.__file__), " +
    "'abi': int(torch._C._GLIBCXX_USE_CXX11_ABI), 'version': torch.__version__, 'cuda': torch.version.cuda}))";
  for (const py of candidates) {
    if (py === "none") return null;
    try {
      const out = execFileSync(py, ["-c", code], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"], timeout: 60000 });
      const info = JSON.parse(out.trim().split("\n").pop());
      const found = fromRoot(info.root, `pip torch via ${py}`, { cxx11abi: info.abi, version: info.version });
      if (found) return found;
    } catch {
      /* no torch in this interpreter */
    }
  }
  return null;
}

/** @returns {{found: object|null, reason: string}} */
function findLibtorch() {
  if (process.env.GANBOARD_TORCH_CONFIG_JSON) {
    return { found: JSON.parse(process.env.GANBOARD_TORCH_CONFIG_JSON), reason: "" };
  }
  const forced = process.env.GANBOARD_LIBTORCH || process.env.LIBTORCH;
  if (forced) {
    if (forced === "none") return { found: null, reason: "disabled by LIBTORCH=none" };
    const found = fromRoot(path.resolve(forced), `LIBTORCH=${forced}`);
    if (!found) {
      return { found: null, reason: `LIBTORCH=${forced} has no include/ATen/ATen.h and lib/libtorch_cpu.so` };
    }
    return { found, reason: "" };
  }
  const found = fromDebian() || fromPython();
  return found ? { found, reason: "" } : { found: null, reason: "no libtorch found (libtorch-dev, LIBTORCH, or a pip torch)" };
}

function gypField(cfg, field) {
  switch (field) {
    case "include_dirs":
      return cfg.includeDirs;
    case "defines":
      return [
        ...(cfg.cxx11abi === null || cfg.cxx11abi === undefined ? [] : [`_GLIBCXX_USE_CXX11_ABI=${cfg.cxx11abi}`]),
        ...(cfg.cuda ? ["GANBOARD_TORCH_CUDA=1"] : []),
      ];
    case "libraries": {
      // CUDA kernels register themselves from static initialisers in libtorch_cuda; with --as-needed the
      // linker would drop it because we reference no symbol from it directly.
      const cuda = cfg.cuda ? ["-Wl,--no-as-needed", "-ltorch_cuda", "-lc10_cuda", "-Wl,--as-needed"] : [];
      return [`-L${cfg.libDir}`, `-Wl,-rpath,${cfg.libDir}`, "-ltorch_cpu", "-lc10", ...cuda];
    }
    default:
      throw new Error(`unknown field ${field}`);
  }
}

module.exports = { findLibtorch, gypField };

if (require.main === module) {
  const { found, reason } = findLibtorch();
  const field = process.argv[2];
  if (field === "json") {
    process.stdout.write(JSON.stringify({ found, reason }) + "\n");
  } else {
    if (!found) {
      process.stderr.write(`find-libtorch: ${reason}\n`);
      process.exit(1);
    }
    process.stdout.write(gypField(found, field).join(" ") + "\n");
  }
}
