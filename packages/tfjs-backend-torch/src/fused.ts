/**
 * Fused gradients. tfjs's gradient registry is global (one gradFunc per kernel for every backend), so the
 * override delegates to tfjs's original gradFunc unless the active backend is "torch"; there it emits one
 * fused native kernel instead of tfjs's chain of small ops. The fused gradient kernels have no gradients of
 * their own: second-order gradients through them (not used by the engine) throw rather than go wrong.
 * TorchBatchNormTrain (our kernel, called by the engine through packages/gan/src/backend-fused.ts) gets its
 * gradient here too.
 */
import * as tf from "@tensorflow/tfjs";
import {
  BACKEND_NAME, TORCH_BATCH_NORM_TRAIN, TORCH_BATCH_NORM_TRAIN_GRAD, TORCH_LEAKY_RELU_GRAD, TORCH_RELU_GRAD,
} from "./kernels.ts";

let done = false;

export function registerFusedGradients(): void {
  if (done) return;
  done = true;
  // Our own kernel (only the torch backend has it): its gradient is ATen's native_batch_norm_backward.
  tf.registerGradient({
    kernelName: TORCH_BATCH_NORM_TRAIN,
    inputsToSave: ["x", "gamma"],
    outputsToSave: [false, true, true],
    gradFunc: (dys, saved, attrs) => {
      const [dy, dmean, dvariance] = dys as (tf.Tensor | null)[];
      const [x, gamma, mean, variance] = saved;
      const inputs: tf.NamedTensorMap = { dy: dy ?? tf.zerosLike(x), x, gamma, mean, variance };
      // Outputs not on the differentiated path arrive as null (tfjs's tape); only real ones cost a pass.
      if (dmean) inputs.dmean = dmean;
      if (dvariance) inputs.dvariance = dvariance;
      const [dx, dgamma, dbeta] = tf.engine().runKernel(TORCH_BATCH_NORM_TRAIN_GRAD, inputs, attrs as tf.NamedAttrMap) as tf.Tensor[];
      return { x: () => dx, gamma: () => dgamma, beta: () => dbeta };
    },
  });
  const relu = tf.getGradient("Relu");
  if (relu) {
    tf.registerGradient({
      ...relu,
      gradFunc: (dy, saved, attrs) => {
        if (tf.getBackend() !== BACKEND_NAME) return relu.gradFunc(dy, saved, attrs);
        const [x] = saved;
        // tfjs: dy * cast(step(x)) as Step + Cast + Multiply; ATen's threshold_backward is one pass.
        return { x: () => tf.engine().runKernel(TORCH_RELU_GRAD, { dy: dy as tf.Tensor, x }, {}) as tf.Tensor };
      },
    });
  }
  const original = tf.getGradient("LeakyRelu");
  if (!original) return;
  tf.registerGradient({
    ...original,
    gradFunc: (dy, saved, attrs) => {
      if (tf.getBackend() !== BACKEND_NAME) return original.gradFunc(dy, saved, attrs);
      const [x] = saved;
      const alpha = (attrs as { alpha: number }).alpha;
      // tfjs: where(x > 0, dy, dy * alpha) as Greater + Multiply + Select (+ a scalar upload).
      return {
        x: () => tf.engine().runKernel(TORCH_LEAKY_RELU_GRAD, { dy: dy as tf.Tensor, x }, { alpha }) as tf.Tensor,
      };
    },
  });
}
