import { z } from "zod";
import { TrainConfigSchema } from "@ganboard/gan/config";

/**
 * What a sweep may search over, read from the engine's TrainConfig schema itself so a setting added to
 * the engine becomes searchable without touching this package.
 */

export type SettingKind =
  | { type: "float" }
  | { type: "int" }
  | { type: "enum"; options: readonly string[] };

function unwrap(schema: z.ZodType): z.ZodType {
  let current: z.ZodType = schema;
  for (;;) {
    if (current instanceof z.ZodDefault || current instanceof z.ZodOptional || current instanceof z.ZodNullable) {
      current = current.unwrap() as z.ZodType;
    } else {
      return current;
    }
  }
}

function kindOf(schema: z.ZodType): SettingKind | null {
  const inner = unwrap(schema);
  if (inner instanceof z.ZodNumber) return inner.isInt ? { type: "int" } : { type: "float" };
  if (inner instanceof z.ZodEnum) return { type: "enum", options: inner.options.map(String) };
  return null;
}

const shape = TrainConfigSchema.shape as Record<string, z.ZodType>;

/** Every TrainConfig field a parameter can be declared for, with its kind. */
export const SEARCHABLE_SETTINGS: Readonly<Record<string, SettingKind>> = Object.freeze(
  Object.fromEntries(
    Object.entries(shape)
      .map(([name, schema]) => [name, kindOf(schema)] as const)
      .filter((entry): entry is readonly [string, SettingKind] => entry[1] !== null),
  ),
);

export const SEARCHABLE_SETTING_NAMES: readonly string[] = Object.keys(SEARCHABLE_SETTINGS).sort();

/** All TrainConfig fields (for `base`). */
export const TRAIN_CONFIG_FIELDS: readonly string[] = Object.keys(shape);

/**
 * Settings PBT may change in the middle of a run, after copying another trial's checkpoint. Anything
 * that changes tensor shapes (resolution, ngf, ndf, z_dim) or the run's identity (dataset, seed, epochs)
 * cannot change once weights exist, so exploit copies those from the parent unchanged.
 */
export const PBT_MUTABLE_SETTINGS: readonly string[] = [
  "lr_g",
  "lr_d",
  "beta1",
  "beta2",
  "d_steps",
  "label_smoothing",
  "ema",
  "loss",
  "batch_size",
].filter((name) => name in SEARCHABLE_SETTINGS);
