import { createHash, randomBytes } from "node:crypto";
import { mkdir, open, readdir, rename, rm, stat } from "node:fs/promises";
import { join, resolve } from "node:path";
import type { SkipCounts } from "./types.ts";

/**
 * On-disk cache of a preprocessed dataset: one file holding a magic tag, a small JSON header and the
 * packed NHWC uint8 pixels. It is written to a temp file and renamed into place, so a crash never
 * leaves a half-written cache, and the header carries a sha256 of the pixels so a damaged file is
 * detected (and rebuilt) instead of silently training on garbage.
 */

const MAGIC = Buffer.from("GANBDS01", "ascii");
const PREFIX_BYTES = MAGIC.length + 4; // magic + uint32 LE header length
const MAX_HEADER_BYTES = 1 << 20;
// Node's fs.readFile/writeFile refuse buffers over 2 GiB; a 63k-image set at 128px is ~3 GiB.
const IO_CHUNK = 64 << 20;

/** A dataset lives in one Uint8Array, which V8 caps at 4 GiB. */
export const MAX_DATASET_BYTES = 2 ** 32;

/** Throws a RangeError a person can act on when `count` images at `resolution` cannot be held at once. */
export function assertDatasetFits(count: number, resolution: number, what: string, remedy: string): void {
  const bytes = count * resolution * resolution * 3;
  if (bytes > MAX_DATASET_BYTES) {
    const maxCount = Math.floor(MAX_DATASET_BYTES / (resolution * resolution * 3));
    throw new RangeError(
      `${what}: ${count} images at ${resolution}px need ${(bytes / 2 ** 30).toFixed(1)} GiB, more than the 4 GiB one dataset can hold; ` +
        `at ${resolution}px at most ${maxCount} images fit (${remedy})`,
    );
  }
}

export interface CacheHeader {
  format: 1;
  /** The cache key (sha256 of the parameters) this file was written for. */
  key: string;
  kind: "cartoon-faces" | "folder";
  source: string;
  count: number;
  resolution: number;
  /** ImageSet.hash: sha256 of the source content + preprocessing parameters. */
  hash: string;
  skipped: SkipCounts;
  pixelsSha256: string;
  byteLength: number;
  createdAt: string;
  /** Kind-specific facts worth keeping (parameters, folder content hash, renderer version...). */
  details: Record<string, unknown>;
}

export type CacheRead =
  | { status: "hit"; header: CacheHeader; pixels: Uint8Array }
  | { status: "miss" }
  | { status: "invalid"; reason: string };

export function defaultCacheDir(): string {
  const home = process.env.GANBOARD_HOME ? resolve(process.env.GANBOARD_HOME) : join(process.cwd(), ".ganboard");
  return join(home, "cache", "datasets");
}

export function cacheKey(parts: unknown): string {
  return createHash("sha256").update(stableJson(parts)).digest("hex");
}

/** JSON with object keys sorted, so the same parameters always give the same key. */
export function stableJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableJson).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${stableJson(v)}`).join(",")}}`;
  }
  return JSON.stringify(value) ?? "null";
}

export function cacheFilePath(cacheDir: string, kind: CacheHeader["kind"], key: string): string {
  return join(cacheDir, `${kind}-${key.slice(0, 32)}.ganbds`);
}

export function sha256Hex(data: Uint8Array): string {
  const h = createHash("sha256");
  for (let off = 0; off < data.length; off += IO_CHUNK) h.update(data.subarray(off, Math.min(data.length, off + IO_CHUNK)));
  return h.digest("hex");
}

export async function readCache(file: string, expectedKey: string): Promise<CacheRead> {
  let handle;
  try {
    handle = await open(file, "r");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR") return { status: "miss" };
    return { status: "invalid", reason: `cannot open: ${(err as Error).message}` };
  }
  try {
    const { size } = await handle.stat();
    if (size < PREFIX_BYTES) return { status: "invalid", reason: "file too short" };
    const prefix = Buffer.alloc(PREFIX_BYTES);
    await readFully(handle, prefix, 0);
    if (!prefix.subarray(0, MAGIC.length).equals(MAGIC)) return { status: "invalid", reason: "bad magic" };
    const headerLength = prefix.readUInt32LE(MAGIC.length);
    if (headerLength === 0 || headerLength > MAX_HEADER_BYTES || PREFIX_BYTES + headerLength > size) {
      return { status: "invalid", reason: "bad header length" };
    }
    const headerBytes = Buffer.alloc(headerLength);
    await readFully(handle, headerBytes, PREFIX_BYTES);
    let header: CacheHeader;
    try {
      header = JSON.parse(headerBytes.toString("utf8")) as CacheHeader;
    } catch {
      return { status: "invalid", reason: "header is not JSON" };
    }
    if (header.format !== 1 || header.key !== expectedKey) return { status: "invalid", reason: "header does not match the parameters" };
    const expectedBytes = header.count * header.resolution * header.resolution * 3;
    if (header.byteLength !== expectedBytes || size !== PREFIX_BYTES + headerLength + expectedBytes) {
      return { status: "invalid", reason: `size ${size} does not match the header` };
    }
    const pixels = new Uint8Array(expectedBytes);
    const hasher = createHash("sha256");
    for (let off = 0; off < expectedBytes; off += IO_CHUNK) {
      const chunk = pixels.subarray(off, Math.min(expectedBytes, off + IO_CHUNK));
      await readFully(handle, chunk, PREFIX_BYTES + headerLength + off);
      hasher.update(chunk);
    }
    if (hasher.digest("hex") !== header.pixelsSha256) return { status: "invalid", reason: "pixel checksum mismatch" };
    return { status: "hit", header, pixels };
  } catch (err) {
    return { status: "invalid", reason: (err as Error).message };
  } finally {
    await handle.close();
  }
}

/** Writes header + pixels to a temp file, fsyncs, renames over `file`. Never leaves a partial `file`. */
export async function writeCache(file: string, header: CacheHeader, pixels: Uint8Array): Promise<void> {
  const dir = join(file, "..");
  await mkdir(dir, { recursive: true });
  await removeStaleTemps(dir);
  const tmp = `${file}.tmp-${process.pid}-${randomBytes(4).toString("hex")}`;
  const headerBytes = Buffer.from(JSON.stringify(header), "utf8");
  const prefix = Buffer.alloc(PREFIX_BYTES);
  MAGIC.copy(prefix, 0);
  prefix.writeUInt32LE(headerBytes.length, MAGIC.length);
  const handle = await open(tmp, "w");
  try {
    await writeFully(handle, prefix);
    await writeFully(handle, headerBytes);
    for (let off = 0; off < pixels.length; off += IO_CHUNK) {
      await writeFully(handle, pixels.subarray(off, Math.min(pixels.length, off + IO_CHUNK)));
    }
    await handle.sync();
    await handle.close();
    await rename(tmp, file);
  } catch (err) {
    await handle.close().catch(() => {});
    await rm(tmp, { force: true });
    throw err;
  }
}

/** writeCache that never fails the load: a cache is an optimisation, the images are already in memory. */
export async function tryWriteCache(
  file: string,
  header: CacheHeader,
  pixels: Uint8Array,
  onWarning: ((message: string) => void) | undefined,
): Promise<void> {
  try {
    await writeCache(file, header, pixels);
  } catch (err) {
    const message = `Could not write the dataset cache ${file}: ${(err as Error).message}. Continuing without it; the dataset will be prepared again next time.`;
    if (onWarning) onWarning(message);
    else process.emitWarning(message, { code: "GANBOARD_DATASET_CACHE" });
  }
}

/** Temp files left by a process that crashed mid-write (older than an hour: not a concurrent writer). */
async function removeStaleTemps(dir: string): Promise<void> {
  const names = await readdir(dir).catch(() => [] as string[]);
  const cutoff = Date.now() - 3_600_000;
  for (const name of names) {
    if (!name.includes(".ganbds.tmp-")) continue;
    const path = join(dir, name);
    const info = await stat(path).catch(() => null);
    if (info && info.mtimeMs < cutoff) await rm(path, { force: true });
  }
}

type Handle = Awaited<ReturnType<typeof open>>;

async function readFully(handle: Handle, into: Uint8Array, position: number): Promise<void> {
  let done = 0;
  while (done < into.length) {
    const { bytesRead } = await handle.read(into, done, into.length - done, position + done);
    if (bytesRead === 0) throw new Error("unexpected end of file");
    done += bytesRead;
  }
}

async function writeFully(handle: Handle, data: Uint8Array): Promise<void> {
  let done = 0;
  while (done < data.length) {
    const { bytesWritten } = await handle.write(data, done, data.length - done);
    done += bytesWritten;
  }
}
