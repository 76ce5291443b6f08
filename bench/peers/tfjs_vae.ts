/**
 * TensorFlow.js peer of the ConvVAE training step (bench/tfjs.bench.ts), worldkit's default
 * layout in tfjs' NHWC: encoder conv 4x4 stride 2 'same' (= PyTorch padding 1) 3→32→64→128→256,
 * mu/logvar conv 3x3 256→64 at 4x4, z = mu + exp(logvar/2)·eps, decoder_in conv 3x3 64→256,
 * conv2dTranspose 4x4 stride 2 256→128→64→32→3, sigmoid; loss = sum((x̂-x)²)/B + mean KL; Adam.
 */
import type { TF } from './tfjs_common';
import type { Tensor4D, Scalar } from '@tensorflow/tfjs';

export function tfjsVaeStep(tf: TF, B: number): { step: () => void; dispose: () => void } {
  let seed = 10;
  const conv = (k: number, cin: number, cout: number) => ({
    w: tf.variable(tf.randomUniform([k, k, cin, cout], -1 / Math.sqrt(cin * k * k), 1 / Math.sqrt(cin * k * k), 'float32', seed++)),
    b: tf.variable(tf.zeros([cout])),
  });
  const deconv = (k: number, cin: number, cout: number) => ({
    w: tf.variable(tf.randomUniform([k, k, cout, cin], -1 / Math.sqrt(cout * k * k), 1 / Math.sqrt(cout * k * k), 'float32', seed++)),
    b: tf.variable(tf.zeros([cout])),
  });
  const enc = [conv(4, 3, 32), conv(4, 32, 64), conv(4, 64, 128), conv(4, 128, 256)];
  const mu = conv(3, 256, 64), lv = conv(3, 256, 64), din = conv(3, 64, 256);
  const dec = [deconv(4, 256, 128), deconv(4, 128, 64), deconv(4, 64, 32), deconv(4, 32, 3)];
  const all = [...enc, mu, lv, din, ...dec];
  const vars = all.flatMap((l) => [l.w, l.b]);
  const x = tf.randomUniform([B, 64, 64, 3], 0, 1, 'float32', 1) as Tensor4D;
  const eps = tf.randomNormal([B, 4, 4, 64], 0, 1, 'float32', 2) as Tensor4D;
  const opt = tf.train.adam(1e-4);
  const loss = () =>
    tf.tidy(() => {
      let h: Tensor4D = x;
      for (const l of enc) h = tf.relu(tf.add(tf.conv2d(h, l.w as never, 2, 'same'), l.b)) as Tensor4D;
      const m = tf.add(tf.conv2d(h, mu.w as never, 1, 'same'), mu.b) as Tensor4D;
      const v = tf.add(tf.conv2d(h, lv.w as never, 1, 'same'), lv.b) as Tensor4D;
      const z = tf.add(m, tf.mul(tf.exp(tf.mul(v, 0.5)), eps)) as Tensor4D;
      let d = tf.relu(tf.add(tf.conv2d(z, din.w as never, 1, 'same'), din.b)) as Tensor4D;
      let size = 4;
      dec.forEach((l, i) => {
        size *= 2;
        const cout = l.w.shape[2] as number;
        const y = tf.add(tf.conv2dTranspose(d, l.w as never, [B, size, size, cout], 2, 'same'), l.b) as Tensor4D;
        d = i < dec.length - 1 ? tf.relu(y) : tf.sigmoid(y);
      });
      const rec = tf.div(tf.sum(tf.squaredDifference(d, x)), B);
      const kl = tf.mean(tf.sum(tf.mul(-0.5, tf.sub(tf.sub(tf.add(1, v), tf.square(m)), tf.exp(v))), [1, 2, 3]));
      return tf.add(rec, kl) as Scalar;
    });
  return {
    step: () => {
      const l = opt.minimize(loss, true, vars);
      l?.dataSync();
      l?.dispose();
    },
    dispose: () => {
      tf.dispose([...vars, x, eps]);
      opt.dispose();
    },
  };
}
