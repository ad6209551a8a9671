/**
 * Fused training ops that a backend may offer by kernel name (the torch backend does: one ATen call where
 * tfjs composes ~10 small ops, i.e. ~10 kernel launches and JS round trips). The engine's training step
 * calls them: Network.batchNorm (train mode, model.ts) and Adam.apply (adam.ts). Each helper returns null
 * when the active backend lacks the kernel (wasm, cpu, tensorflow), and the caller runs its plain-op
 * version — the same maths, checked against each other in packages/tfjs-backend-torch/src/kernels.test.ts.
 */
import * as tf from "@tensorflow/tfjs";

/** {x (NHWC), gamma, beta} {epsilon} → [y, batch mean, biased batch variance]; differentiable. */
export const FUSED_BATCH_NORM_TRAIN = "TorchBatchNormTrain";
/** {w, m, v, g} {lr, beta1, beta2, epsilon, step} → [w', m', v'] (PyTorch's Adam rule). */
export const FUSED_ADAM_UPDATE = "TorchAdamUpdate";

function has(kernelName: string): boolean {
  return tf.getKernel(kernelName, tf.getBackend()) !== undefined;
}

/** Train-mode batch norm over N, H, W (PyTorch semantics), or null when the backend has no fused kernel. */
export function fusedBatchNormTrain(
  x: tf.Tensor4D,
  gamma: tf.Tensor1D | tf.Variable,
  beta: tf.Tensor1D | tf.Variable,
  epsilon: number,
): { y: tf.Tensor4D; mean: tf.Tensor1D; variance: tf.Tensor1D } | null {
  if (!has(FUSED_BATCH_NORM_TRAIN)) return null;
  const [y, mean, variance] = tf.engine().runKernel(FUSED_BATCH_NORM_TRAIN, { x, gamma, beta }, { epsilon }) as tf.Tensor[];
  return { y: y as tf.Tensor4D, mean: mean as tf.Tensor1D, variance: variance as tf.Tensor1D };
}

export interface FusedAdamHyper {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  /** 1-based update count (bias correction). */
  step: number;
}

/** One Adam update as new tensors [w', m', v'], or null when the backend has no fused kernel. */
export function fusedAdamUpdate(w: tf.Tensor, m: tf.Tensor, v: tf.Tensor, g: tf.Tensor, h: FusedAdamHyper): [tf.Tensor, tf.Tensor, tf.Tensor] | null {
  if (!has(FUSED_ADAM_UPDATE)) return null;
  const attrs = { lr: h.lr, beta1: h.beta1, beta2: h.beta2, epsilon: h.eps, step: h.step };
  return tf.engine().runKernel(FUSED_ADAM_UPDATE, { w, m, v, g }, attrs) as [tf.Tensor, tf.Tensor, tf.Tensor];
}
