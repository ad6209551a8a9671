export type DatasetErrorCode =
  | "not-found" // the folder does not exist
  | "not-a-folder" // the path is a file (or something else)
  | "unreadable" // permission denied or another I/O error on the folder itself
  | "empty" // no PNG/JPEG/WebP files anywhere under the folder
  | "no-usable-images" // image files exist, but every one was skipped
  | "outside-data-roots"; // the folder is not under any of the allowed data roots

/** A dataset that cannot be loaded at all; the message names the path and says what to do. */
export class DatasetError extends Error {
  constructor(
    public readonly code: DatasetErrorCode,
    public readonly path: string,
    message: string,
  ) {
    super(message);
    this.name = "DatasetError";
  }
}
