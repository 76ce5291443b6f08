/**
 * TensorFlow.js peer of the latent predictor's teacher-forced training step (bench/tfjs.bench.ts):
 * LSTM over concat(z_t, a_t) (latent D, action A, hidden H), head Linear(H, D), z_{t+1} = z_t + dz,
 * MSE on z[:,1:], Adam (lr 1e-4), batch B, sequence T. Written for tfjs at its best: the input
 * projection of all T-1 steps is one matMul (teacher forcing knows every input), the recurrent
 * part is a loop of matMuls and pointwise ops, gradients through tf.train.adam().minimize.
 */
import type { TF } from './tfjs_common';

export function tfjsPredictorStep(tf: TF, B: number, T: number, D: number, A: number, H: number): { step: () => void; dispose: () => void } {
  const I = D + A;
  const init = (shape: number[], fan: number) => tf.variable(tf.randomUniform(shape, -1 / Math.sqrt(fan), 1 / Math.sqrt(fan), 'float32', 1));
  const Wx = init([I, 4 * H], H), Wh = init([H, 4 * H], H), b = init([4 * H], H);
  const Wo = init([H, D], H), bo = init([D], H);
  const z = tf.randomNormal([B, T, D], 0, 1, 'float32', 2);
  const a = tf.randomNormal([B, T, A], 0, 1, 'float32', 3);
  const opt = tf.train.adam(1e-4);
  const vars = [Wx, Wh, b, Wo, bo];
  const loss = () =>
    tf.tidy(() => {
      const zin = tf.slice(z, [0, 0, 0], [B, T - 1, D]);
      const x = tf.concat([zin, tf.slice(a, [0, 0, 0], [B, T - 1, A])], 2);
      const xw = tf.reshape(tf.matMul(tf.reshape(x, [B * (T - 1), I]), Wx), [B, T - 1, 4 * H]);
      let h = tf.zeros([B, H]) as import('@tensorflow/tfjs').Tensor2D;
      let c = tf.zeros([B, H]) as import('@tensorflow/tfjs').Tensor2D;
      const hs = [];
      for (let t = 0; t < T - 1; ++t) {
        const g = tf.add(tf.add(tf.reshape(tf.slice(xw, [0, t, 0], [B, 1, 4 * H]), [B, 4 * H]), tf.matMul(h, Wh)), b);
        const [gi, gf, gg, go] = tf.split(g, 4, 1);
        c = tf.add(tf.mul(tf.sigmoid(gf), c), tf.mul(tf.sigmoid(gi), tf.tanh(gg)));
        h = tf.mul(tf.sigmoid(go), tf.tanh(c));
        hs.push(h);
      }
      const hAll = tf.reshape(tf.stack(hs, 1), [B * (T - 1), H]);
      const pred = tf.add(tf.reshape(zin, [B * (T - 1), D]), tf.add(tf.matMul(hAll, Wo), bo));
      const target = tf.reshape(tf.slice(z, [0, 1, 0], [B, T - 1, D]), [B * (T - 1), D]);
      return tf.mean(tf.squaredDifference(pred, target)) as import('@tensorflow/tfjs').Scalar;
    });
  return {
    step: () => {
      const l = opt.minimize(loss, true, vars);
      l?.dataSync();
      l?.dispose();
    },
    dispose: () => {
      tf.dispose([...vars, z, a]);
      opt.dispose();
    },
  };
}
