/**
 * Adam with PyTorch's update rule (torch.optim.Adam, no weight decay):
 *   m ← β1·m + (1−β1)·g;  v ← β2·v + (1−β2)·g²
 *   w ← w − lr/(1−β1^t) · m / (√v/√(1−β2^t) + ε)
 * Written over our own variables so that its whole state (m, v, t) is plain data for checkpoints,
 * and so lr/betas can change between steps (PBT perturbs them on a cloned checkpoint).
 */
import * as tf from "@tensorflow/tfjs";
import { fusedAdamUpdate } from "./backend-fused.ts";
import { ownedVariable } from "./model.ts";

export interface AdamHyper {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
}

export class Adam {
  /** Updates taken so far (PyTorch's per-parameter `step`, the same for all parameters here). */
  t = 0;
  readonly m: tf.Variable[];
  readonly v: tf.Variable[];

  constructor(
    readonly variables: tf.Variable[],
    public hyper: AdamHyper,
  ) {
    this.m = variables.map((w) => ownedVariable(tf.zerosLike(w), false));
    this.v = variables.map((w) => ownedVariable(tf.zerosLike(w), false));
  }

  /** grads in the same order as `variables`. Does not dispose the gradients. */
  apply(grads: tf.Tensor[]): void {
    this.t += 1;
    const { lr, beta1, beta2, eps } = this.hyper;
    const bc1 = 1 - beta1 ** this.t;
    const sqrtBc2 = Math.sqrt(1 - beta2 ** this.t);
    tf.tidy(() => {
      for (let i = 0; i < this.variables.length; i++) {
        const g = grads[i];
        // One native call where the backend has the kernel (torch); the same rule in plain ops otherwise.
        const fused = fusedAdamUpdate(this.variables[i], this.m[i], this.v[i], g, { lr, beta1, beta2, eps, step: this.t });
        if (fused) {
          this.variables[i].assign(fused[0]);
          this.m[i].assign(fused[1]);
          this.v[i].assign(fused[2]);
          continue;
        }
        const m = tf.add(tf.mul(this.m[i], beta1), tf.mul(g, 1 - beta1));
        const v = tf.add(tf.mul(this.v[i], beta2), tf.mul(tf.square(g), 1 - beta2));
        const denom = tf.add(tf.div(tf.sqrt(v), sqrtBc2), eps);
        this.variables[i].assign(tf.sub(this.variables[i], tf.mul(tf.div(m, denom), lr / bc1)));
        this.m[i].assign(m);
        this.v[i].assign(v);
      }
    });
  }

  dispose(): void {
    for (const x of [...this.m, ...this.v]) x.dispose();
  }
}
