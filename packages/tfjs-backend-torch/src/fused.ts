/**
 * Fused gradients. tfjs's gradient registry is global (one gradFunc per kernel for every backend), so the
 * override delegates to tfjs's original gradFunc unless the active backend is "torch"; there it emits one
 * fused native kernel instead of tfjs's chain of small ops. The fused kernels have no gradients of their
 * own: second-order gradients through them (not used by the engine) throw rather than go wrong.
 */
import * as tf from "@tensorflow/tfjs";
import { BACKEND_NAME, TORCH_LEAKY_RELU_GRAD, TORCH_RELU_GRAD } from "./kernels.ts";

let done = false;

export function registerFusedGradients(): void {
  if (done) return;
  done = true;
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
