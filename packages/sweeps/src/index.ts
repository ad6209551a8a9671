/**
 * @ganboard/sweeps: the sweep spec and every search / pruning / PBT decision as pure functions over data.
 * The DB layer loads a sweep's trials, calls these under the sweep's advisory lock, and stores the result.
 */
export {
  SweepSpecSchema,
  ParameterSpecSchema,
  MetricSchema,
  EarlyTerminateSchema,
  TpeSettingsSchema,
  PbtSettingsSchema,
  METHODS,
  GOALS,
  EARLY_TERMINATE_TYPES,
  SweepSpecError,
  safeParseSweepSpec,
  parseSweepSpec,
  safeParseSweepYaml,
  parseSweepYaml,
  toYaml,
  specWarnings,
  formatIssue,
  gridSize,
  searchedParameterNames,
  pbtMutableNames,
  tpeSettings,
  pbtSettings,
  type SweepSpec,
  type SweepSpecInput,
  type SweepMethod,
  type SpecIssue,
  type SpecParseResult,
  type EarlyTerminate,
  type TpeSettings,
  type PbtSettings,
  type Metric,
} from "./spec.ts";
export { DISTRIBUTIONS, domainOf, type Scalar, type ParameterSpec, type Domain, type DistributionName } from "./space.ts";
export { SEARCHABLE_SETTINGS, SEARCHABLE_SETTING_NAMES, PBT_MUTABLE_SETTINGS, type SettingKind } from "./settings.ts";
export { suggestNext, resolveTrialConfig, gridPoint, gridPoints, randomParams, trialBudget, bestTrial, type Suggestion } from "./strategies.ts";
export { tpeSuggest, collectObservations, splitObservations, defaultGamma, defaultWeights } from "./tpe.ts";
export { shouldPrune, ashaRungs, type PruneDecision } from "./prune.ts";
export { pbtDecision, explore, type PbtDecision, type ParamChange } from "./pbt.ts";
export { createRng, hashSeed, type Rng } from "./rng.ts";
export type { TrialRecord, TrialState, EpochValue } from "./trials.ts";
