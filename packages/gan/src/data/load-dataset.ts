import type { DatasetConfig } from "../config.ts";
import { loadCartoonFaces } from "./cartoon-faces.ts";
import { loadImageFolder, type FolderLoadOptions } from "./folder.ts";
import { dataRoots } from "./roots.ts";
import type { ImageSet, LoadOptions } from "./types.ts";

export interface DatasetLoadOptions extends LoadOptions {
  /** Folder datasets must lie under one of these (see loadImageFolder); default dataRoots() (GANBOARD_DATA_ROOTS). */
  allowedRoots?: FolderLoadOptions["allowedRoots"];
}

/** The images of a run's dataset at its resolution, from the on-disk cache when it is there. */
export async function loadDataset(dataset: DatasetConfig, resolution: number, opts: DatasetLoadOptions = {}): Promise<ImageSet> {
  switch (dataset.kind) {
    case "cartoon-faces":
      return loadCartoonFaces(
        { count: dataset.count, styles: dataset.styles, seed: dataset.seed, background: dataset.background },
        resolution,
        opts,
      );
    case "folder":
      return loadImageFolder(dataset.path, resolution, { ...opts, allowedRoots: opts.allowedRoots ?? dataRoots(), limit: dataset.limit, minSize: dataset.min_size });
  }
}
