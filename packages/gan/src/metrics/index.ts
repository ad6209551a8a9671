// Offline sample-quality metrics (no pretrained network needed), plus FID/KID over a pluggable feature extractor.
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
