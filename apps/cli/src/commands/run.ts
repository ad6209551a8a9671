import fs from "node:fs";
import { Command, Option } from "commander";
import YAML from "yaml";
import { connect, createClaimedTrial, enqueueTrial, getTrial, migrate, resolveDatabase, trialLeaseSettingsFromEnv } from "@ganboard/db";
import { BACKENDS, parseTrainConfig, type BackendName } from "@ganboard/gan/config";
import { Runner } from "@ganboard/runner";
import { note } from "../lib/terminal.ts";
import { createRunnerDisplay } from "./runner.ts";

/** Reads a YAML or JSON training config and validates it (field-level errors name the file). */
export function readTrainConfigFile(file: string) {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (error) {
    throw new Error(`Cannot read config ${file}: ${(error as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : (error as Error).message}`);
  }
  let data: unknown;
  try {
    data = YAML.parse(text);
  } catch (error) {
    throw new Error(`${file} is not valid YAML/JSON: ${(error as Error).message}`);
  }
  return parseTrainConfig(data ?? {}, file);
}

export function register(program: Command): void {
  program
    .command("run")
    .description("Queue one training run (no sweep) from a YAML/JSON config and print its id; runners pick it up.")
    .argument("<config>", "training config file, e.g. examples/train-quickstart.yaml")
    .option("--local", "train it in this process now (no other runner can take it), instead of queueing it for a runner")
    .option("--database-url <url>", "Postgres to use (default: DATABASE_URL, else the embedded one)")
    .addOption(new Option("--backend <name>", "with --local: force a training backend").choices([...BACKENDS]))
    .action(async (file: string, opts: { local?: boolean; databaseUrl?: string; backend?: BackendName }) => {
      const config = readTrainConfigFile(file);
      const database = await resolveDatabase({ databaseUrl: opts.databaseUrl, handleSignals: false });
      const connection = connect(database.url, { max: 4, applicationName: "ganboard-run" });
      try {
        await migrate(connection.sql);
        if (!opts.local) {
          const trial = await enqueueTrial(connection.sql, { config });
          process.stdout.write(`${trial.id}\n`);
          note(`Queued run #${trial.number}. A runner (\`npx ganboard runner\`, or \`ganboard up\`) will train it.`);
          return;
        }
        // A queued trial could be claimed first by an idle runner elsewhere (`ganboard up` starts two);
        // this one is created already claimed by the local runner, once it is registered.
        let trialId: string | null = null;
        const runner = new Runner({
          sql: connection.sql,
          databaseUrl: database.url,
          ...trialLeaseSettingsFromEnv(),
          createTrial: async (runnerId) => {
            const trial = await createClaimedTrial(connection.sql, runnerId, { config });
            trialId = trial.id;
            process.stdout.write(`${trial.id}\n`);
            return trial;
          },
          once: true,
          backend: opts.backend,
          onEvent: createRunnerDisplay(),
        });
        let signals = 0;
        const onSignal = () => (++signals === 1 ? runner.requestShutdown() : process.exit(130));
        process.on("SIGINT", onSignal);
        process.on("SIGTERM", onSignal);
        try {
          await runner.run();
        } finally {
          process.off("SIGINT", onSignal);
          process.off("SIGTERM", onSignal);
        }
        const finished = trialId ? await getTrial(connection.sql, trialId) : null;
        if (!finished) {
          process.exitCode = 130;
          note("interrupted before the run was created: nothing was queued");
        } else if (finished.status === "failed") {
          process.exitCode = 1;
          note(`run failed: ${finished.error}`);
        } else if (finished.status === "queued") {
          note(`interrupted: run #${finished.number} is back in the queue; a runner will resume it from its checkpoint`);
        }
      } finally {
        await connection.close();
        await database.release();
      }
    });
}
