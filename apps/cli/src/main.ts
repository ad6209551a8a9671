import { Command } from "commander";
import { register as registerUp } from "./commands/up.ts";
import { register as registerDb } from "./commands/db.ts";
import { register as registerTrain } from "./commands/train.ts";
import { register as registerEval } from "./commands/eval.ts";
import { register as registerInterpolate } from "./commands/interpolate.ts";
import { register as registerRunner } from "./commands/runner.ts";
import { register as registerRun } from "./commands/run.ts";
import { register as registerSweep } from "./commands/sweep.ts";

const program = new Command("ganboard")
  .description("Experiment tracking for GAN training: sweeps, headless runners, live charts and sample grids.")
  .showHelpAfterError();

for (const register of [registerUp, registerDb, registerRunner, registerRun, registerSweep, registerTrain, registerEval, registerInterpolate]) register(program);

try {
  await program.parseAsync(process.argv);
} catch (error) {
  // Errors a person can act on are printed as their message alone; anything else keeps its stack.
  const message = error instanceof Error ? (error.name === "Error" || error.name.endsWith("Error") ? error.message : String(error)) : String(error);
  process.stderr.write(`ganboard: ${message}\n`);
  process.exitCode = 1;
}
