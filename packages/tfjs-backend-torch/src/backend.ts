/**
 * The tfjs KernelBackend behind the name "torch": tensor data lives in the addon's id → at::Tensor table;
 * this class keeps tfjs's bookkeeping (dataId → native id with a reference count), modelled on
 * tfjs-node's NodeJSKernelBackend. Every native tensor is freed exactly when tfjs disposes its dataId.
 */
import * as tf from "@tensorflow/tfjs";
import { DTYPE_CODE, type NativeAddon, type NativeDType } from "./native.ts";

type DataId = object;
type BackendValues = Float32Array | Int32Array | Uint8Array | Uint8Array[];

interface TensorData {
  id: number;
  refCount: number;
}

export class TorchBackend extends tf.KernelBackend {
  private readonly data: tf.DataStorage<TensorData>;
  private disposed = false;
  /** When true every kernel output's native shape and dtype are compared with what tfjs was told (tests). */
  checkOutputs = false;
  /** Native calls made by kernels since the last reset (profiling). */
  kernelCalls = 0;

  constructor(readonly native: NativeAddon) {
    super();
    this.data = new tf.DataStorage<TensorData>(this, tf.engine());
  }

  // ---- kernel helpers ----------------------------------------------------------------------------
  /** Native id of a kernel input. */
  id(t: tf.TensorInfo): number {
    const entry = this.data.get(t.dataId);
    if (entry === undefined) throw new Error("tfjs-backend-torch: tensor data is not on this backend (was it disposed?)");
    return entry.id;
  }

  /** Wraps a fresh native id as a kernel output. */
  out(id: number, shape: number[], dtype: tf.DataType): tf.TensorInfo {
    if (this.checkOutputs) this.verify(id, shape, dtype);
    const dataId = {};
    this.data.set(dataId, { id, refCount: 1 });
    return { dataId, shape, dtype };
  }

  private verify(id: number, shape: number[], dtype: tf.DataType): void {
    const nativeShape = this.native.shape(id);
    const nativeDtype = this.native.dtypeOf(id);
    const sameShape = nativeShape.length === shape.length && nativeShape.every((d, i) => d === shape[i]);
    if (!sameShape || nativeDtype !== DTYPE_CODE[dtype as NativeDType]) {
      throw new Error(
        `tfjs-backend-torch: kernel output mismatch: native [${nativeShape}] dtype#${nativeDtype}, tfjs [${shape}] ${dtype}`,
      );
    }
  }

  // ---- KernelBackend storage API -----------------------------------------------------------------
  override write(values: BackendValues, shape: number[], dtype: tf.DataType): DataId {
    const dataId = {};
    this.move(dataId, values, shape, dtype, 1);
    return dataId;
  }

  override move(dataId: DataId, values: BackendValues, shape: number[], dtype: tf.DataType, refCount: number): void {
    const id = this.native.fromData(toTyped(values, dtype), shape, dtypeCode(dtype));
    this.data.set(dataId, { id, refCount });
  }

  makeTensorInfo(shape: number[], dtype: tf.DataType, values?: BackendValues): tf.TensorInfo {
    const size = shape.reduce((a, b) => a * b, 1);
    const vals = values ?? (dtype === "float32" ? new Float32Array(size) : dtype === "int32" ? new Int32Array(size) : new Uint8Array(size));
    return { dataId: this.write(vals, shape, dtype), shape, dtype };
  }

  override refCount(dataId: DataId): number {
    return this.data.has(dataId) ? this.data.get(dataId).refCount : 0;
  }

  override incRef(dataId: DataId): void {
    this.data.get(dataId).refCount++;
  }

  override disposeData(dataId: DataId, force = false): boolean {
    if (!this.data.has(dataId)) return true;
    const entry = this.data.get(dataId);
    entry.refCount--;
    if (!force && entry.refCount > 0) return false;
    this.native.free(entry.id);
    this.data.delete(dataId);
    return true;
  }

  /** Frees an intermediate made inside a kernel that was not returned to tfjs. */
  disposeIntermediateTensorInfo(info: tf.TensorInfo): void {
    this.disposeData(info.dataId);
  }

  override readSync(dataId: DataId): BackendValues {
    return this.native.read(this.data.get(dataId).id);
  }

  override async read(dataId: DataId): Promise<BackendValues> {
    return this.native.readAsync(this.data.get(dataId).id);
  }

  override numDataIds(): number {
    return this.data.numDataIds();
  }

  override memory(): { unreliable: boolean; numBytesInNative: number; numNativeTensors: number } {
    const stats = this.native.stats();
    return { unreliable: false, numBytesInNative: stats.bytes, numNativeTensors: stats.live };
  }

  override async time(f: () => void): Promise<tf.BackendTimingInfo> {
    const start = process.hrtime.bigint();
    f();
    this.native.synchronize();
    return { kernelMs: Number(process.hrtime.bigint() - start) / 1e6 };
  }

  override timerAvailable(): boolean {
    return true;
  }

  override floatPrecision(): 32 {
    return 32;
  }

  override epsilon(): number {
    return 1e-7;
  }

  override dispose(): void {
    this.disposed = true;
  }

  get isDisposed(): boolean {
    return this.disposed;
  }
}

function dtypeCode(dtype: tf.DataType): number {
  if (dtype === "float32" || dtype === "int32" || dtype === "bool") return DTYPE_CODE[dtype];
  throw new Error(`tfjs-backend-torch: dtype ${dtype} is not supported (float32, int32 and bool are)`);
}

function toTyped(values: BackendValues, dtype: tf.DataType): Float32Array | Int32Array | Uint8Array {
  if (Array.isArray(values)) throw new Error("tfjs-backend-torch: string tensors are not supported");
  switch (dtype) {
    case "float32":
      return values instanceof Float32Array ? values : Float32Array.from(values);
    case "int32":
      return values instanceof Int32Array ? values : Int32Array.from(values);
    case "bool":
      return values instanceof Uint8Array ? values : Uint8Array.from(values, (v) => (v ? 1 : 0));
    default:
      dtypeCode(dtype);
      throw new Error("unreachable");
  }
}
