/**
 * GAN losses on discriminator logits. All return scalars and are differentiable.
 * - bce: the classic DCGAN loss (BCE-with-logits; D loss = real term + fake term, summed as in
 *   pytorch/examples) with the non-saturating generator loss; one-sided label smoothing lowers the
 *   real target to 1 − label_smoothing.
 * - lsgan: least squares (Mao et al.), targets 1 / 0, each term halved.
 * - hinge: D max(0, 1 − real) + max(0, 1 + fake); G −fake.
 */
import * as tf from "@tensorflow/tfjs";

export type LossName = "bce" | "lsgan" | "hinge";

/** Mean binary cross-entropy of logits against a constant target, computed stably: softplus(l) − t·l. */
export function bceWithLogits(logits: tf.Tensor, target: number): tf.Scalar {
  const perItem = target === 0 ? tf.softplus(logits) : tf.sub(tf.softplus(logits), tf.mul(logits, target));
  return tf.mean(perItem) as tf.Scalar;
}

export function discriminatorLoss(loss: LossName, realLogits: tf.Tensor, fakeLogits: tf.Tensor, labelSmoothing = 0): tf.Scalar {
  switch (loss) {
    case "bce":
      return tf.add(bceWithLogits(realLogits, 1 - labelSmoothing), bceWithLogits(fakeLogits, 0));
    case "lsgan":
      return tf.mul(tf.add(tf.mean(tf.square(tf.sub(realLogits, 1 - labelSmoothing))), tf.mean(tf.square(fakeLogits))), 0.5);
    case "hinge":
      return tf.add(tf.mean(tf.relu(tf.sub(1, realLogits))), tf.mean(tf.relu(tf.add(1, fakeLogits))));
  }
}

export function generatorLoss(loss: LossName, fakeLogits: tf.Tensor): tf.Scalar {
  switch (loss) {
    case "bce":
      return bceWithLogits(fakeLogits, 1); // non-saturating: −log D(G(z))
    case "lsgan":
      return tf.mul(tf.mean(tf.square(tf.sub(fakeLogits, 1))), 0.5);
    case "hinge":
      return tf.neg(tf.mean(fakeLogits));
  }
}
