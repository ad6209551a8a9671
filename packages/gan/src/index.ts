// @ganboard/gan: the GAN engine. Takes a config and data, yields metrics, images and checkpoints.
export * from "./config.ts";
export { selectBackend, currentBackend, type BackendInfo } from "./backend.ts";
export { Generator, Discriminator, stridedLayerCount, architectureOf, type Architecture, BN_EPSILON, BN_MOMENTUM, LEAKY_SLOPE, INIT_STD } from "./model.ts";
export { bceWithLogits, discriminatorLoss, generatorLoss, type LossName } from "./losses.ts";
export { Adam, type AdamHyper } from "./adam.ts";
export { GanTrainer, STEP_METRIC_KEYS, assertSameArchitecture, type StepMetrics, type TrainingPosition } from "./trainer.ts";
export {
  encodeCheckpoint,
  decodeCheckpoint,
  readCheckpointHeader,
  CHECKPOINT_MAGIC,
  CHECKPOINT_VERSION,
  type CheckpointHeader,
  type NamedArray,
} from "./checkpoint.ts";
export { runTraining, type RunTrainingOptions, type TrainingEvent, type DatasetSummary, type LogLevel } from "./run-training.ts";
export { Prng } from "./random.ts";
export { DivergenceError, CheckpointError, BackendUnavailableError } from "./errors.ts";
export type { ImageSet } from "./data/index.ts";
export { encodeGridPng, encodeTimelapseGif, encodeInterpolationStrip } from "./media/index.ts";
export { interpolationStripFromCheckpoint, slerp } from "./interpolate.ts";
