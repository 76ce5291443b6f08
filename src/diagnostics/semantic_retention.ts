/**
 * Semantic retention per rollout step: how much of a frame's meaning (the probe's reading of its
 * labels) survives in decoded predictions, against the true frames, the VAE's reconstructions of
 * them (the ceiling a latent predictor can reach) and copy-last.
 *
 *   accuracy(source, head, k) = share of windows whose probe label of `source` at step k equals
 *                               the true label of the frame at step k
 *   retention(head, k)        = accuracy(predicted) / accuracy(real)
 *
 * Labels often persist for many frames, so copy-last already scores well; every figure is also
 * given on the *changed* subset: the windows whose true label at step k differs from the last
 * context frame's, the only ones where predicting matters (copy-last's accuracy there is ~0 by
 * construction, up to probe errors).
 *
 * What the probe sees per source (it reads a frame and its predecessor):
 *   predicted       (pred_k, pred_{k-1}), pred_{-1} = the reconstruction of the last context frame
 *   reconstruction  (recon_k, recon_{k-1}), recon_{-1} = the same
 *   real            (real_k, real_{k-1}), real_{-1} = the last context frame
 *   copyLast        (real_{C-1}, real_{C-2}) at every step: the last observation held, so the
 *                   labels it reads are those of the last context frame
 */
import type { SemanticRetention, SourceAccuracy } from './eval_schema';
import type { LabelHead } from '../data/episode';
import type { SemanticProbe } from '../models/semantic_probe';

export const SOURCES = ['predicted', 'reconstruction', 'real', 'copyLast'] as const;
export type Source = (typeof SOURCES)[number];

/** Counts right answers per source, head and step, on all windows and on the changed subset. */
export class RetentionAccumulator {
  readonly heads: LabelHead[];
  readonly horizon: number;
  private windows = 0;
  private readonly right: Record<Source, number[][]>;
  private readonly changedRight: Record<Source, number[][]>;
  private readonly total: number[][];
  private readonly changedTotal: number[][];

  constructor(heads: LabelHead[], horizon: number) {
    this.heads = heads;
    this.horizon = horizon;
    const grid = () => heads.map(() => new Array<number>(horizon).fill(0));
    this.right = { predicted: grid(), reconstruction: grid(), real: grid(), copyLast: grid() };
    this.changedRight = { predicted: grid(), reconstruction: grid(), real: grid(), copyLast: grid() };
    this.total = grid();
    this.changedTotal = grid();
  }

  /**
   * One window: truth [horizon, heads] (true labels per step), lastContext [heads] (true labels of
   * the last context frame), and the probe's labels per source, each [horizon, heads].
   */
  addWindow(truth: Int32Array, lastContext: ArrayLike<number>, read: Record<Source, Int32Array>): void {
    const nh = this.heads.length;
    this.windows++;
    for (let k = 0; k < this.horizon; ++k) {
      for (let h = 0; h < nh; ++h) {
        const y = truth[k * nh + h];
        const changed = y !== lastContext[h];
        this.total[h][k]++;
        if (changed) this.changedTotal[h][k]++;
        for (const s of SOURCES) {
          if (read[s][k * nh + h] === y) {
            this.right[s][h][k]++;
            if (changed) this.changedRight[s][h][k]++;
          }
        }
      }
    }
  }

  get count(): number {
    return this.windows;
  }

  result(probeUnreliable: boolean): SemanticRetention {
    const Hz = this.horizon;
    const ratio = (a: number[], b: number[]) => a.map((v, k) => (b[k] > 0 ? v / b[k] : NaN));
    const acc = (r: Record<Source, number[][]>, tot: number[][], h: number): SourceAccuracy => ({
      predicted: ratio(r.predicted[h], tot[h]),
      reconstruction: ratio(r.reconstruction[h], tot[h]),
      real: ratio(r.real[h], tot[h]),
      copyLast: ratio(r.copyLast[h], tot[h]),
    });
    const perHead = this.heads.map((hd, h) => {
      const a = acc(this.right, this.total, h);
      const c = acc(this.changedRight, this.changedTotal, h);
      return {
        name: hd.name,
        accuracy: a,
        retention: ratio(a.predicted, a.real),
        copyLastRetention: ratio(a.copyLast, a.real),
        reconstructionRetention: ratio(a.reconstruction, a.real),
        changed: { count: [...this.changedTotal[h]], accuracy: c, retention: ratio(c.predicted, c.real) },
      };
    });
    // Overall: the mean over heads of each head's accuracy (every head counts the same), and on
    // the changed subset the pooled count (heads with more changes weigh more).
    const meanOver = (f: (h: number) => number[]) => Array.from({ length: Hz }, (_, k) => this.heads.reduce((s, _h, h) => s + f(h)[k], 0) / this.heads.length);
    const overallAcc: SourceAccuracy = {
      predicted: meanOver((h) => perHead[h].accuracy.predicted),
      reconstruction: meanOver((h) => perHead[h].accuracy.reconstruction),
      real: meanOver((h) => perHead[h].accuracy.real),
      copyLast: meanOver((h) => perHead[h].accuracy.copyLast),
    };
    const pooled = (r: number[][]) => Array.from({ length: Hz }, (_, k) => r.reduce((s, row) => s + row[k], 0));
    const changedCount = pooled(this.changedTotal);
    const changedAcc: SourceAccuracy = {
      predicted: ratio(pooled(this.changedRight.predicted), changedCount),
      reconstruction: ratio(pooled(this.changedRight.reconstruction), changedCount),
      real: ratio(pooled(this.changedRight.real), changedCount),
      copyLast: ratio(pooled(this.changedRight.copyLast), changedCount),
    };
    return {
      heads: this.heads.map((h) => ({ name: h.name, classes: [...h.classes] })),
      windows: this.windows,
      perHead,
      overall: {
        accuracy: overallAcc,
        retention: ratio(overallAcc.predicted, overallAcc.real),
        copyLastRetention: ratio(overallAcc.copyLast, overallAcc.real),
        reconstructionRetention: ratio(overallAcc.reconstruction, overallAcc.real),
        changed: { count: changedCount, accuracy: changedAcc, retention: ratio(changedAcc.predicted, changedAcc.real) },
      },
      probeUnreliable,
    };
  }
}

/** The images of one window that the probe reads, float NCHW in [0, 1]. */
export interface WindowImages {
  /** [horizon] decoded predictions, VAE reconstructions of the true frames, the true frames */
  predicted: Float32Array;
  reconstruction: Float32Array;
  real: Float32Array;
  /** the last context frame, its reconstruction, and the context frame before it (= lastReal when the context is one frame) */
  lastReal: Float32Array;
  lastRecon: Float32Array;
  beforeLast: Float32Array;
}

/** The probe's labels [horizon, heads] of each source of a window (see the header for the pairs it reads). */
export function readSources(probe: SemanticProbe, w: WindowImages, horizon: number): Record<Source, Int32Array> {
  const per = w.lastReal.length;
  const nh = probe.heads.length;
  const copyPair = probe.classify(w.lastReal, w.beforeLast, 1);
  const copyLast = new Int32Array(horizon * nh);
  for (let k = 0; k < horizon; ++k) copyLast.set(copyPair, k * nh);
  return {
    predicted: probe.classify(w.predicted, predecessors(w.predicted, w.lastRecon, horizon, per), horizon),
    reconstruction: probe.classify(w.reconstruction, predecessors(w.reconstruction, w.lastRecon, horizon, per), horizon),
    real: probe.classify(w.real, predecessors(w.real, w.lastReal, horizon, per), horizon),
    copyLast,
  };
}

/** Images [n, per] with their predecessors: row k's predecessor is row k-1, row 0's is `first`. */
export function predecessors(images: Float32Array, first: Float32Array, n: number, per: number): Float32Array {
  const out = new Float32Array(n * per);
  out.set(first.subarray(0, per), 0);
  if (n > 1) out.set(images.subarray(0, (n - 1) * per), per);
  return out;
}

/** `n` copies of one image. */
export function repeatImage(image: Float32Array, n: number): Float32Array {
  const out = new Float32Array(n * image.length);
  for (let i = 0; i < n; ++i) out.set(image, i * image.length);
  return out;
}
