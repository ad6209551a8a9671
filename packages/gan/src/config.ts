import { z } from "zod";

/**
 * The one description of a training run. The runner, `ganboard train`, sweeps and the dashboard all
 * validate against this schema, so a config that passes here is one the engine can train.
 * Names are snake_case because they are what users type in YAML and what sweeps search over.
 */

export const RESOLUTIONS = [32, 64, 128] as const;
export const LOSSES = ["bce", "lsgan", "hinge"] as const;
export const BACKENDS = ["tensorflow-gpu", "torch", "tensorflow", "wasm", "cpu"] as const;

export const CartoonFacesDatasetSchema = z
  .object({
    kind: z.literal("cartoon-faces"),
    /** Number of faces rendered (seeded, so the same count gives the same set). */
    count: z.number().int().min(16).max(200_000).default(10_000),
    /** DiceBear styles to mix. */
    styles: z.array(z.enum(["adventurer", "lorelei", "avataaars", "big-smile", "micah", "notionists"])).min(1).default(["adventurer", "lorelei"]),
    seed: z.number().int().min(0).default(0),
    /** Backgrounds behind the faces: "varied" (any colour, some gradients; the default), "pastel" or "white". */
    background: z.enum(["varied", "pastel", "white"]).optional(),
  })
  .strict();

export const FolderDatasetSchema = z
  .object({
    kind: z.literal("folder"),
    /** A folder of PNG/JPEG/WebP images, searched recursively. */
    path: z.string().min(1, "path must name a folder of images"),
    /** Use at most this many images (all when omitted). */
    limit: z.number().int().positive().optional(),
    /** Skip images whose shorter side is below this many pixels (default: half the resolution). */
    min_size: z.number().int().positive().optional(),
  })
  .strict();

export const DatasetSchema = z.discriminatedUnion("kind", [CartoonFacesDatasetSchema, FolderDatasetSchema]);

export const TrainConfigSchema = z
  .object({
    dataset: DatasetSchema.default({ kind: "cartoon-faces", count: 10_000, styles: ["adventurer", "lorelei"], seed: 0 }),
    resolution: z
      .number()
      .int()
      .refine((r) => (RESOLUTIONS as readonly number[]).includes(r), { message: "resolution must be 32, 64 or 128" })
      .default(64),
    epochs: z.number().int().min(1).max(10_000).default(25),
    batch_size: z.number().int().min(1).max(4096).default(64),
    z_dim: z.number().int().min(1).max(1024).default(100),
    ngf: z.number().int().min(1).max(1024).default(64),
    ndf: z.number().int().min(1).max(1024).default(64),
    loss: z.enum(LOSSES).default("bce"),
    lr_g: z.number().positive("lr_g must be > 0").max(1).default(2e-4),
    lr_d: z.number().positive("lr_d must be > 0").max(1).default(2e-4),
    beta1: z.number().min(0).lt(1).default(0.5),
    beta2: z.number().min(0).lt(1).default(0.999),
    /** Discriminator updates per generator update. */
    d_steps: z.number().int().min(1).max(20).default(1),
    /** One-sided label smoothing: real labels become 1 - label_smoothing (bce only). */
    label_smoothing: z.number().min(0).max(0.5).default(0),
    /** EMA decay of generator weights; 0 turns EMA off. Samples come from the EMA generator when on. */
    ema: z.number().min(0).lt(1).default(0),
    seed: z.number().int().min(0).default(0),
    /** Side of the fixed-noise sample grid (grid_size × grid_size images). */
    grid_size: z.number().int().min(1).max(16).default(8),
    /** Real images used for per-epoch SWD (0 turns it off). */
    swd_samples: z.number().int().min(0).max(16_384).default(2048),
    /** Save a checkpoint every this many epochs (the runner also checkpoints at shutdown). */
    checkpoint_every: z.number().int().min(1).default(1),
    /** Force a backend; by default the fastest available is chosen. */
    backend: z.enum(BACKENDS).optional(),
  })
  .strict();

export type TrainConfig = z.output<typeof TrainConfigSchema>;
export type TrainConfigInput = z.input<typeof TrainConfigSchema>;
export type DatasetConfig = z.output<typeof DatasetSchema>;
export type BackendName = (typeof BACKENDS)[number];

export interface FieldError {
  /** Dotted path of the field, e.g. `dataset.path` or `lr_g`. */
  path: string;
  message: string;
}

/** Field-level messages a person can act on: `lr_g: lr_g must be > 0`. */
export function formatZodIssues(error: z.ZodError): FieldError[] {
  return error.issues.map((issue) => ({
    path: issue.path.map(String).join(".") || "(root)",
    message: issue.message,
  }));
}

export class ConfigError extends Error {
  constructor(public readonly fields: FieldError[], source?: string) {
    super(
      `Invalid config${source ? ` in ${source}` : ""}:\n` + fields.map((f) => `  - ${f.path}: ${f.message}`).join("\n"),
    );
    this.name = "ConfigError";
  }
}

export function parseTrainConfig(input: unknown, source?: string): TrainConfig {
  const result = TrainConfigSchema.safeParse(input);
  if (!result.success) throw new ConfigError(formatZodIssues(result.error), source);
  return result.data;
}
