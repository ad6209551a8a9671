import { InvalidArgumentError } from "commander";
import { BACKENDS, type BackendName } from "@ganboard/gan/config";

/** commander parser for `--backend NAME`: one of the engine's backends, or a message listing them. */
export function parseBackend(value: string): BackendName {
  if (!(BACKENDS as readonly string[]).includes(value)) throw new InvalidArgumentError(`use one of ${BACKENDS.join(", ")}`);
  return value as BackendName;
}
