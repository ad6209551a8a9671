/**
 * The New sweep page's templates: the example sweeps in examples/sweeps/, as spec input objects (the
 * browser cannot read those files). test/dashboard/sweep-form.test.ts checks each parses to the same
 * spec as its YAML file, so the two never drift apart.
 */

export interface SweepTemplate {
  id: "quickstart" | "anime-folder" | "pbt";
  label: string;
  /** One line under the template button. */
  summary: string;
  /** The example file this mirrors, relative to the repository root. */
  file: string;
  spec: Record<string, unknown>;
}

export const SWEEP_TEMPLATES: readonly SweepTemplate[] = [
  {
    id: "quickstart",
    label: "Quickstart",
    summary: "Cartoon faces 32px, random search over lr_g / lr_d, 4 short trials (minutes on a CPU).",
    file: "examples/sweeps/quickstart.yaml",
    spec: {
      name: "quickstart-cartoon-lr",
      description: "Random search over lr_g / lr_d, DCGAN on 512 DiceBear cartoon faces, 32x32.",
      method: "random",
      metric: { name: "swd", goal: "minimize" },
      parameters: {
        lr_g: { distribution: "log_uniform", min: 0.00005, max: 0.001 },
        lr_d: { distribution: "log_uniform", min: 0.00005, max: 0.001 },
      },
      base: {
        dataset: { kind: "cartoon-faces", count: 512, styles: ["adventurer", "lorelei"], seed: 0 },
        resolution: 32,
        epochs: 3,
        batch_size: 32,
        z_dim: 64,
        ngf: 16,
        ndf: 16,
        grid_size: 4,
        swd_samples: 256,
      },
      run_cap: 4,
      parallelism: 2,
      seed: 1,
    },
  },
  {
    id: "anime-folder",
    label: "Anime faces folder 64px",
    summary: "Your own folder of images at 64px, TPE over optimiser and loss settings, ASHA early stopping.",
    file: "examples/sweeps/anime-faces-tpe.yaml",
    spec: {
      name: "anime-faces-tpe",
      description: "TPE over optimiser and loss settings for a 64px DCGAN on a folder of anime faces.",
      method: "tpe",
      metric: { name: "swd", goal: "minimize" },
      parameters: {
        lr_g: { distribution: "log_uniform", min: 0.00005, max: 0.001 },
        lr_d: { distribution: "log_uniform", min: 0.00005, max: 0.001 },
        beta1: { distribution: "uniform", min: 0.0, max: 0.9 },
        loss: { values: ["bce", "lsgan", "hinge"] },
        label_smoothing: { distribution: "q_uniform", min: 0.0, max: 0.3, q: 0.05 },
        batch_size: { values: [64, 128] },
        ema: { values: [0, 0.999] },
      },
      base: { dataset: { kind: "folder", path: "data/anime-faces" }, resolution: 64, epochs: 20, ngf: 64, ndf: 64, z_dim: 100 },
      run_cap: 40,
      parallelism: 4,
      early_terminate: { type: "asha", min_epochs: 2, reduction_factor: 3 },
      tpe: { n_startup_trials: 10, n_ei_candidates: 24 },
      seed: 0,
    },
  },
  {
    id: "pbt",
    label: "PBT",
    summary: "Population Based Training of the learning rates: 8 members, exploit/explore every 4 epochs.",
    file: "examples/sweeps/pbt.yaml",
    spec: {
      name: "cartoon-faces-pbt",
      description: "PBT over lr_g / lr_d for a 64px DCGAN on generated cartoon faces.",
      method: "pbt",
      metric: { name: "swd", goal: "minimize" },
      parameters: {
        lr_g: { distribution: "log_uniform", min: 0.00002, max: 0.002 },
        lr_d: { distribution: "log_uniform", min: 0.00002, max: 0.002 },
        label_smoothing: { values: [0, 0.1] },
      },
      base: { dataset: { kind: "cartoon-faces", count: 10000 }, resolution: 64, epochs: 24 },
      parallelism: 8,
      pbt: { population: 8, interval: 4, quantile: 0.25, resample_probability: 0.25, perturbation_factors: [0.8, 1.2], mutate: ["lr_g", "lr_d"] },
      seed: 0,
    },
  },
];

export function findTemplate(id: string | null | undefined): SweepTemplate | undefined {
  return SWEEP_TEMPLATES.find((t) => t.id === id);
}
