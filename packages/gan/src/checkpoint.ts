/**
 * Checkpoint bytes: a small self-describing binary format.
 *
 *   offset 0   8 bytes  magic "GANBCKPT"
 *   offset 8   uint32   format version (little-endian), currently 1
 *   offset 12  uint32   header length H in bytes
 *   offset 16  H bytes  UTF-8 JSON header (CheckpointHeader)
 *   then zero padding to a multiple of 4, then the float32 little-endian blob;
 *   header.tensors[i] = { name, shape, offset } with offset counted in float32 elements from the blob start.
 *
 * The header alone says everything needed to inspect a checkpoint (config, step, epoch, RNG state,
 * optimiser step counts); tensors are addressed by name so a reader never depends on their order.
 */
import { CheckpointError } from "./errors.ts";

export const CHECKPOINT_MAGIC = "GANBCKPT";
export const CHECKPOINT_VERSION = 1;

export interface TensorEntry {
  name: string;
  shape: number[];
  offset: number;
}

export interface CheckpointHeader {
  format: "ganboard-checkpoint";
  version: number;
  createdAt: string;
  /** The full training config of the run that wrote it. */
  config: Record<string, unknown>;
  architecture: { resolution: number; zDim: number; ngf: number; ndf: number };
  /** Global iterations completed. */
  step: number;
  /** Where to resume: 1-based epoch in progress and iterations already done in it (may equal steps per epoch, meaning the epoch's grid/metrics are still due). */
  position: { epoch: number; stepInEpoch: number };
  /** sfc32 state of the training PRNG. */
  rng: [number, number, number, number];
  optimizers: { g: { t: number }; d: { t: number } };
  hasEma: boolean;
  backend?: string;
  tensors: TensorEntry[];
  blobLength: number;
}

export interface NamedArray {
  name: string;
  shape: number[];
  data: Float32Array;
}

const littleEndian = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

export function encodeCheckpoint(header: Omit<CheckpointHeader, "tensors" | "blobLength" | "format" | "version">, arrays: NamedArray[]): Uint8Array {
  const tensors: TensorEntry[] = [];
  let offset = 0;
  for (const a of arrays) {
    const expected = a.shape.reduce((x, y) => x * y, 1);
    if (expected !== a.data.length) throw new CheckpointError(`tensor ${a.name}: shape [${a.shape}] does not match ${a.data.length} values`);
    tensors.push({ name: a.name, shape: a.shape, offset });
    offset += a.data.length;
  }
  const full: CheckpointHeader = { format: "ganboard-checkpoint", version: CHECKPOINT_VERSION, ...header, tensors, blobLength: offset };
  const json = new TextEncoder().encode(JSON.stringify(full));
  const blobStart = align4(16 + json.length);
  const out = new Uint8Array(blobStart + offset * 4);
  out.set(new TextEncoder().encode(CHECKPOINT_MAGIC), 0);
  const view = new DataView(out.buffer);
  view.setUint32(8, CHECKPOINT_VERSION, true);
  view.setUint32(12, json.length, true);
  out.set(json, 16);
  for (let i = 0; i < arrays.length; i++) {
    const start = blobStart + tensors[i].offset * 4;
    const data = arrays[i].data;
    if (littleEndian) out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), start);
    else for (let j = 0; j < data.length; j++) view.setFloat32(start + j * 4, data[j], true);
  }
  return out;
}

export function readCheckpointHeader(bytes: Uint8Array): CheckpointHeader {
  if (bytes.length < 16) throw new CheckpointError(`not a ganboard checkpoint: only ${bytes.length} bytes`);
  const magic = new TextDecoder().decode(bytes.subarray(0, 8));
  if (magic !== CHECKPOINT_MAGIC) throw new CheckpointError("not a ganboard checkpoint (bad magic bytes)");
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = view.getUint32(8, true);
  if (version !== CHECKPOINT_VERSION) {
    throw new CheckpointError(`checkpoint format version ${version} is not supported (this build reads version ${CHECKPOINT_VERSION})`);
  }
  const headerLength = view.getUint32(12, true);
  if (16 + headerLength > bytes.length) throw new CheckpointError("checkpoint is truncated (header runs past the end)");
  let header: CheckpointHeader;
  try {
    header = JSON.parse(new TextDecoder().decode(bytes.subarray(16, 16 + headerLength))) as CheckpointHeader;
  } catch (error) {
    throw new CheckpointError(`checkpoint header is not valid JSON: ${(error as Error).message}`);
  }
  if (header.format !== "ganboard-checkpoint" || !Array.isArray(header.tensors)) throw new CheckpointError("checkpoint header is malformed");
  const expectedLength = align4(16 + headerLength) + header.blobLength * 4;
  if (bytes.length !== expectedLength) {
    throw new CheckpointError(`checkpoint is ${bytes.length < expectedLength ? "truncated" : "too long"}: ${bytes.length} bytes, expected ${expectedLength}`);
  }
  return header;
}

export function decodeCheckpoint(bytes: Uint8Array): { header: CheckpointHeader; arrays: Map<string, NamedArray> } {
  const header = readCheckpointHeader(bytes);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const blobStart = align4(16 + view.getUint32(12, true));
  const arrays = new Map<string, NamedArray>();
  for (const t of header.tensors) {
    const length = t.shape.reduce((x, y) => x * y, 1);
    if (t.offset + length > header.blobLength) throw new CheckpointError(`tensor ${t.name} runs past the end of the checkpoint`);
    const data = new Float32Array(length);
    const start = blobStart + t.offset * 4;
    if (littleEndian) new Uint8Array(data.buffer).set(bytes.subarray(start, start + length * 4));
    else for (let j = 0; j < length; j++) data[j] = view.getFloat32(start + j * 4, true);
    arrays.set(t.name, { name: t.name, shape: t.shape, data });
  }
  return { header, arrays };
}

function align4(n: number): number {
  return (n + 3) & ~3;
}
