// Offline sample-quality metrics (no pretrained network needed), plus FID/KID over a pluggable feature extractor.
export { MetricRng } from "./random.ts";
export { assertImageBatch, imagesFromTanh, MetricInputError, selectImages, type ImageBatch } from "./images.ts";
export {
  laplacianPyramid,
  slicedWassersteinDistance,
  swdFloor,
  swdMetricRecord,
  swdResolutions,
  SWD_MIN_RESOLUTION,
  type SwdFloorResult,
  type SwdLevel,
  type SwdOptions,
  type SwdResult,
} from "./swd.ts";
export { msSsim, msSsimDiversity, MS_SSIM_WEIGHTS, MS_SSIM_MIN_RESOLUTION, type MsSsimDiversityOptions, type RgbImage } from "./ms-ssim.ts";
export {
  featureStatistics,
  fidFromFeatures,
  frechetDistance,
  kernelInceptionDistance,
  traceSqrtProduct,
  type FeatureMatrix,
  type FeatureStatistics,
  type KidOptions,
  type KidResult,
} from "./fid.ts";
export { symmetricEigen, type SymmetricEigen } from "./linalg.ts";
export {
  configuredInceptionPath,
  FeatureModelError,
  fileSystemModelHandler,
  loadGraphModelExtractor,
  type FeatureExtractor,
  type GraphModelExtractorOptions,
} from "./features.ts";
