// `ganboard train CONFIG [--out DIR] [--backend NAME] [--resume CKPT]`: train a GAN on this machine,
// without a database. Writes metrics.jsonl, grids/epoch-NNN.png, timelapse.gif, checkpoint-latest.bin
// (periodically and on Ctrl-C) and checkpoint-final.bin into the output folder.

import { existsSync } from "node:fs";
import { mkdir, readdir, readFile, rename, writeFile } from "node:fs/promises";
import path from "node:path";
import { Command } from "commander";
import { parse as parseYaml, YAMLParseError } from "yaml";
import { ConfigError, encodeTimelapseGif, parseTrainConfig, readCheckpointHeader, runTraining, type TrainConfig, type TrainingEvent } from "@ganboard/gan";
import { BACKENDS, type BackendName } from "@ganboard/gan/config";
import { formatDuration, renderBar } from "../lib/terminal.ts";
import { parseBackend } from "../lib/options.ts";

/** Reads a YAML or JSON training config and validates it (field-level errors name the file). */
export async function loadTrainConfigFile(file: string, overrides: { backend?: BackendName } = {}): Promise<TrainConfig> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (error) {
    throw new Error(`cannot read config ${file}: ${(error as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : (error as Error).message}`);
  }
  let raw: unknown;
  try {
    raw = file.endsWith(".json") ? JSON.parse(text) : parseYaml(text);
  } catch (error) {
    const where = error instanceof YAMLParseError && error.linePos ? ` (line ${error.linePos[0].line}, column ${error.linePos[0].col})` : "";
    throw new Error(`config ${file} is not valid ${file.endsWith(".json") ? "JSON" : "YAML"}${where}: ${(error as Error).message.split("\n")[0]}`);
  }
  if (raw === null || raw === undefined) raw = {};
  if (typeof raw !== "object" || Array.isArray(raw)) throw new ConfigError([{ path: "(root)", message: "the config must be a mapping of fields" }], file);
  const config = parseTrainConfig(raw, file);
  return overrides.backend ? { ...config, backend: overrides.backend } : config;
}

export interface TrainLocallyOptions {
  out: string;
  backend?: BackendName;
  resume?: string;
  /** Where progress goes (default stderr). */
  stream?: NodeJS.WriteStream;
  /** Install the Ctrl-C handler (the CLI does; in-process callers may not want it). */
  handleSignals?: boolean;
  /** Test hook: stop with a checkpoint after this many steps of this process. */
  stopAfterSteps?: number;
}

export interface TrainSummary {
  out: string;
  stopped: boolean;
  epoch: number;
  step: number;
  objective: number | null;
  files: string[];
}

export async function trainLocally(configFile: string, opts: TrainLocallyOptions): Promise<TrainSummary> {
  const config = await loadTrainConfigFile(configFile, { backend: opts.backend });
  const out = path.resolve(opts.out);
  const gridsDir = path.join(out, "grids");
  await mkdir(gridsDir, { recursive: true });
  const display = createTrainDisplay(config, opts.stream ?? process.stderr);

  let resumeFrom: Uint8Array | undefined;
  if (opts.resume) {
    const buffer = await readFile(opts.resume).catch((error: NodeJS.ErrnoException) => {
      throw new Error(`cannot read checkpoint ${opts.resume}: ${error.code === "ENOENT" ? "no such file" : error.message}`);
    });
    resumeFrom = new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
    const header = readCheckpointHeader(resumeFrom);
    // Lines logged after the checkpoint would be logged again: drop them so each step appears once.
    await truncateMetricsAfter(path.join(out, "metrics.jsonl"), header.step);
  }
  await writeFile(path.join(out, "config.json"), `${JSON.stringify(config, null, 2)}\n`);

  let stopRequested = false;
  let interrupts = 0;
  const onSigint = () => {
    interrupts += 1;
    if (interrupts > 1) {
      display.line("second Ctrl-C: exiting without a checkpoint");
      process.exit(130);
    }
    stopRequested = true;
    display.line("Ctrl-C: finishing this step and saving a checkpoint (Ctrl-C again to quit at once)…");
  };
  if (opts.handleSignals) process.on("SIGINT", onSigint);

  const metricsPath = path.join(out, "metrics.jsonl");
  const files = new Set<string>();
  let stepsThisProcess = 0;
  let summary: TrainSummary = { out, stopped: false, epoch: 0, step: 0, objective: null, files: [] };
  try {
    const events = runTraining(config, {
      resumeFrom,
      stopRequested: () => (stopRequested || (opts.stopAfterSteps !== undefined && stepsThisProcess >= opts.stopAfterSteps) ? "checkpoint" : false),
      onLog: (level, message) => display.line(level === "info" ? message : `${level}: ${message}`),
    });
    let pending: string[] = [];
    const flush = async () => {
      if (pending.length === 0) return;
      await writeFile(metricsPath, pending.join(""), { flag: "a" });
      files.add(metricsPath);
      pending = [];
    };
    for await (const event of events) {
      display.event(event);
      switch (event.type) {
        case "started":
          pending.push(json({ type: "started", backend: event.backend, dataset: event.dataset, steps_per_epoch: event.stepsPerEpoch, total_steps: event.totalSteps, resumed_at: event.resumedAt ?? null, config }));
          break;
        case "step":
          stepsThisProcess += 1;
          pending.push(json({ type: "step", epoch: event.epoch, step: event.step, ...event.metrics, images_per_second: round(event.imagesPerSecond), wall_time: event.wallTime }));
          if (pending.length >= 50) await flush();
          break;
        case "epoch": {
          pending.push(json({ type: "epoch", epoch: event.epoch, step: event.step, ...event.quality, wall_time: Date.now() / 1000 }));
          await flush();
          const grid = path.join(gridsDir, `epoch-${String(event.epoch).padStart(3, "0")}.png`);
          await writeFile(grid, event.gridPng);
          files.add(grid);
          files.add(await writeTimelapse(gridsDir, path.join(out, "timelapse.gif")));
          break;
        }
        case "checkpoint": {
          await flush();
          const target = path.join(out, event.reason === "final" ? "checkpoint-final.bin" : "checkpoint-latest.bin");
          await writeAtomic(target, event.data);
          files.add(target);
          if (event.reason === "stop") {
            summary = { ...summary, stopped: true, epoch: event.epoch, step: event.step };
            if (event.gridPng) {
              const grid = path.join(gridsDir, `stopped-step-${event.step}.png`);
              await writeFile(grid, event.gridPng);
              files.add(grid);
            }
            display.line(`stopped at epoch ${event.epoch}, step ${event.step}; checkpoint saved to ${target}`);
            display.line(`resume with: ganboard train ${configFile} --out ${opts.out} --resume ${path.relative(process.cwd(), target) || target}`);
          }
          break;
        }
        case "finished":
          summary = { ...summary, epoch: event.epoch, step: event.step, objective: event.objective };
          break;
      }
    }
    await flush();
  } finally {
    if (opts.handleSignals) process.off("SIGINT", onSigint);
    display.close();
  }
  return { ...summary, files: [...files].sort() };
}

/** Rebuilds the timelapse from every epoch grid in the folder (so a resumed run's GIF covers all epochs). */
async function writeTimelapse(gridsDir: string, target: string): Promise<string> {
  const names = (await readdir(gridsDir)).filter((n) => /^epoch-\d+\.png$/.test(n)).sort();
  const frames = await Promise.all(names.map((n) => readFile(path.join(gridsDir, n))));
  const labels = names.map((n) => `epoch ${Number(n.slice(6, -4))}`);
  await writeAtomic(target, await encodeTimelapseGif(frames, { labels }));
  return target;
}

async function truncateMetricsAfter(file: string, step: number): Promise<void> {
  if (!existsSync(file)) return;
  const kept = (await readFile(file, "utf8"))
    .split("\n")
    .filter((line) => {
      if (!line.trim()) return false;
      try {
        const record = JSON.parse(line) as { type?: string; step?: number };
        return record.type === "started" || (record.step ?? 0) <= step;
      } catch {
        return false; // a line cut short by a crash
      }
    });
  await writeFile(file, kept.map((l) => `${l}\n`).join(""));
}

async function writeAtomic(file: string, data: Uint8Array): Promise<void> {
  const tmp = `${file}.tmp-${process.pid}`;
  await writeFile(tmp, data);
  await rename(tmp, file);
}

function json(value: unknown): string {
  return `${JSON.stringify(value)}\n`;
}

function round(x: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

interface TrainDisplay {
  event(event: TrainingEvent): void;
  line(text: string): void;
  close(): void;
}

/** A redrawn status line on a terminal (epoch, step, img/s, losses, ETA); plain periodic lines otherwise. */
export function createTrainDisplay(config: TrainConfig, stream: NodeJS.WriteStream): TrainDisplay {
  const tty = Boolean(stream.isTTY) && process.env.TERM !== "dumb";
  let statusShown = false;
  let stepsPerEpoch = 1;
  let totalSteps = 1;
  let firstStep = 0;
  let startedAt = Date.now();
  let lastPlain = 0;
  const clear = () => {
    if (tty && statusShown) stream.write("\r\x1b[2K");
    statusShown = false;
  };
  const line = (text: string) => {
    clear();
    stream.write(`${text}\n`);
  };
  return {
    line,
    close: clear,
    event(event) {
      switch (event.type) {
        case "started":
          stepsPerEpoch = event.stepsPerEpoch;
          totalSteps = event.totalSteps;
          firstStep = event.resumedAt?.step ?? 0;
          startedAt = Date.now();
          line(
            `training ${config.resolution}px DCGAN (${config.loss}, batch ${config.batch_size}, ngf ${config.ngf}, ndf ${config.ndf}) on ${event.dataset.source}` +
              ` — ${event.dataset.count} images, ${stepsPerEpoch} steps × ${config.epochs} epochs, backend ${event.backend.name} (${event.backend.device})` +
              (event.resumedAt ? `, resuming at epoch ${event.resumedAt.epoch} step ${event.resumedAt.step}` : ""),
          );
          break;
        case "step": {
          const done = event.step - firstStep;
          const perStep = (Date.now() - startedAt) / Math.max(1, done);
          const eta = formatDuration(perStep * Math.max(0, totalSteps - event.step));
          const inEpoch = event.step - (event.epoch - 1) * stepsPerEpoch;
          const m = event.metrics;
          const text =
            `epoch ${event.epoch}/${config.epochs} ${renderBar(inEpoch / stepsPerEpoch, 16)} step ${event.step}/${totalSteps}` +
            ` · ${event.imagesPerSecond.toFixed(1)} img/s · loss_d ${m.loss_d.toFixed(3)} loss_g ${m.loss_g.toFixed(3)}` +
            ` · D(x) ${m.d_real.toFixed(2)} D(G(z)) ${m.d_fake.toFixed(2)}→${m.d_fake_after.toFixed(2)} · ETA ${eta}`;
          if (tty) {
            stream.write(`\r\x1b[2K${text.slice(0, Math.max(20, (stream.columns ?? 120) - 1))}`);
            statusShown = true;
          } else if (Date.now() - lastPlain > 10_000 || event.step === firstStep + 1 || inEpoch === stepsPerEpoch) {
            lastPlain = Date.now();
            line(text);
          }
          break;
        }
        case "epoch": {
          const q = event.quality;
          const quality = q.swd !== undefined ? ` · swd ${q.swd.toFixed(2)} (floor ${q.swd_floor?.toFixed(2)}) · ms_ssim ${q.ms_ssim?.toFixed(3)} (real ${q.ms_ssim_real?.toFixed(3)})` : "";
          line(`epoch ${event.epoch}/${config.epochs} done at step ${event.step}${quality}`);
          break;
        }
        case "checkpoint":
          if (event.reason === "periodic") line(`checkpoint saved (epoch ${event.epoch}, step ${event.step})`);
          break;
        case "finished":
          line(`finished: ${event.epoch} epochs, ${event.step} steps in ${formatDuration(Date.now() - startedAt)}${event.objective !== null ? `, final swd ${event.objective.toFixed(2)}` : ""}`);
          break;
      }
    },
  };
}

function defaultOutDir(configFile: string): string {
  const name = path.basename(configFile).replace(/\.(ya?ml|json)$/i, "");
  const stamp = new Date().toISOString().replace(/[-:]/g, "").replace("T", "-").slice(0, 15);
  return path.join("runs", `${name}-${stamp}`);
}

export function register(program: Command): void {
  program
    .command("train")
    .description("Train a GAN on this machine from a YAML/JSON config (no database): metrics.jsonl, per-epoch grids, timelapse.gif, checkpoints")
    .argument("<config>", "training config (YAML or JSON), e.g. examples/train-quickstart.yaml")
    .option("--out <dir>", "output folder (default runs/<config>-<timestamp>)")
    .option("--backend <name>", `force a backend: ${BACKENDS.join(", ")} (default: fastest available, or GANBOARD_BACKEND)`, parseBackend)
    .option("--resume <checkpoint>", "continue from a checkpoint file (e.g. <out>/checkpoint-latest.bin)")
    .action(async (configFile: string, options: { out?: string; backend?: BackendName; resume?: string }) => {
      const out = options.out ?? defaultOutDir(configFile);
      const stopAfter = process.env.GANBOARD_TRAIN_STOP_AFTER_STEPS ? Number(process.env.GANBOARD_TRAIN_STOP_AFTER_STEPS) : undefined;
      const summary = await trainLocally(configFile, { out, backend: options.backend, resume: options.resume, handleSignals: true, stopAfterSteps: stopAfter });
      process.stderr.write(`outputs in ${summary.out}\n`);
      if (summary.stopped) process.exitCode = 130;
    });
}

