export type { ImageSet, LoadOptions, SkipCounts } from "./types.ts";
export { DatasetError, type DatasetErrorCode } from "./errors.ts";
export { loadDataset, type DatasetLoadOptions } from "./load-dataset.ts";
export { dataRoots } from "./roots.ts";
export { loadImageFolder, listImageFolder, sniffImageType, FOLDER_PREPROCESS_VERSION, type FolderLoadOptions } from "./folder.ts";
export {
  loadCartoonFaces,
  renderCartoonFaces,
  cartoonFaceSvg,
  describeCartoonFaces,
  CARTOON_STYLE_NAMES,
  CARTOON_RENDERER_VERSION,
  type CartoonFacesParams,
  type CartoonStyleName,
  type CartoonBackground,
} from "./cartoon-faces.ts";
export { BatchLoader } from "./batch-loader.ts";
export { sampleImageSet } from "./subset.ts";
export { defaultCacheDir, MAX_DATASET_BYTES } from "./cache.ts";
