/**
 * A synthetic run folder for the report tests: schema-valid eval/eval.json, tsne.json and
 * filmstrips.json (typed against src/diagnostics/eval_schema.ts, so a change of the contract
 * breaks the type check here), tiny PNG strips made with src/io/png.ts, and the run-level files
 * today's demo writes (summary.md, vae/ and predictor/metrics.jsonl). Numbers follow simple
 * formulas (meaning decays with the step) so tests can predict what the page must say.
 */
import * as fs from 'fs';
import * as path from 'path';
import { contactSheet, encodePNG } from '../../src/io/png';
import type { EvalFile, FilmstripFile, SemanticRetention, SourceAccuracy, TsneFile } from '../../src/diagnostics/eval_schema';

export interface FixtureOptions {
  horizon?: number;
  /** t-SNE points in all (half real, half predicted). */
  tsnePoints?: number;
  /** Rollout steps embedded in the t-SNE (default every step; the real eval embeds a few, e.g. 1/4/8/16). */
  tsneSteps?: number[];
  /** Leave out the semantic parts (unlabeled data): no probe, no semantic, semanticNote set. */
  unlabeled?: boolean;
  /** Leave out tsne.json and filmstrips.json (an older run). */
  noExtras?: boolean;
  /** Shifts the numbers, so two runs differ. */
  quality?: number;
  /** Override strings that end up in the page (for the escaping test). */
  dataText?: string;
  headNames?: [string, string];
  windowTitle?: string;
  /** A head the probe is unreliable on. */
  unreliableHead?: boolean;
}

export const FRAME = 16;
const HEADS = [
  { name: 'lane', classes: ['left lane', 'right lane', 'off road'] },
  { name: 'curve', classes: ['left', 'straight', 'right'] },
];

/** Writes non-finite numbers as strings, as eval_schema.ts says (and writeEvaluation does). */
function writeJson(file: string, v: unknown): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, JSON.stringify(v, (_k, x) => (typeof x === 'number' && !Number.isFinite(x) ? String(x) : x), 1));
}

function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/** A strip of `n` tiny frames (colour drifts with the step, a darker square marks where the "car" is). */
function strip(n: number, hue: number, blur: number): Buffer {
  const frames: Uint8Array[] = [];
  for (let k = 0; k < n; ++k) {
    const f = new Uint8Array(FRAME * FRAME * 3);
    for (let y = 0; y < FRAME; ++y)
      for (let x = 0; x < FRAME; ++x) {
        const i = (y * FRAME + x) * 3;
        const car = Math.abs(x - 8 - Math.round(3 * Math.sin(k / 2))) < 3 && y > 9 && y < 14;
        const g = 90 + 10 * k * blur;
        f[i] = car ? 200 - 8 * k * blur : (hue + 20 * k) & 255;
        f[i + 1] = car ? 30 : g;
        f[i + 2] = car ? 30 : 80;
      }
    frames.push(f);
  }
  // scale 2 and a 2-pixel gap: the same layout saveFilmstrip uses, so the report's column alignment is exercised
  return encodePNG(contactSheet([frames], FRAME, FRAME, 2, 2));
}

function sources(H: number, q: number, shift = 0): SourceAccuracy {
  const real = Array.from({ length: H }, () => 0.97);
  return {
    real,
    predicted: Array.from({ length: H }, (_, k) => Math.max(0.3, 0.95 * q - 0.06 * k - shift)),
    reconstruction: Array.from({ length: H }, () => 0.93 * q),
    copyLast: Array.from({ length: H }, (_, k) => Math.max(0.2, 0.94 - 0.08 * k - shift)),
  };
}

function semantic(H: number, q: number, headNames: string[], unreliable: boolean): SemanticRetention {
  const perHead = headNames.map((name, h) => {
    const accuracy = sources(H, q, 0.05 * h);
    const changedAcc = sources(H, q, 0.2 + 0.05 * h);
    // nothing can have changed by step 1 in this fixture: its changed-subset accuracy is NaN (written "NaN")
    const count = Array.from({ length: H }, (_, k) => (k === 0 ? 0 : 2 * k + h));
    for (const key of ['real', 'predicted', 'reconstruction', 'copyLast'] as const) changedAcc[key][0] = NaN;
    return {
      name,
      accuracy,
      retention: accuracy.predicted.map((v, k) => v / accuracy.real[k]),
      copyLastRetention: accuracy.copyLast.map((v, k) => v / accuracy.real[k]),
      reconstructionRetention: accuracy.reconstruction.map((v, k) => v / accuracy.real[k]),
      changed: { count, accuracy: changedAcc, retention: changedAcc.predicted.map((v, k) => v / changedAcc.real[k]) },
    };
  });
  const avg = (f: (h: (typeof perHead)[number]) => number[]) => Array.from({ length: H }, (_, k) => perHead.reduce((s, h) => s + f(h)[k], 0) / perHead.length);
  const avgSrc = (f: (h: (typeof perHead)[number]) => SourceAccuracy): SourceAccuracy => ({
    real: avg((h) => f(h).real),
    predicted: avg((h) => f(h).predicted),
    reconstruction: avg((h) => f(h).reconstruction),
    copyLast: avg((h) => f(h).copyLast),
  });
  return {
    heads: headNames.map((n, i) => ({ name: n, classes: HEADS[i].classes })),
    windows: 12,
    perHead,
    overall: {
      accuracy: avgSrc((h) => h.accuracy),
      retention: avg((h) => h.retention),
      copyLastRetention: avg((h) => h.copyLastRetention),
      reconstructionRetention: avg((h) => h.reconstructionRetention),
      changed: { count: Array.from({ length: H }, (_, k) => perHead.reduce((s, h) => s + h.changed.count[k], 0)), accuracy: avgSrc((h) => h.changed.accuracy), retention: avg((h) => h.changed.retention) },
    },
    probeUnreliable: unreliable,
  };
}

/** Writes a run folder at `dir` (dir/eval/... plus run-level files) and returns it. */
export function makeRunFolder(dir: string, o: FixtureOptions = {}): string {
  const H = o.horizon ?? 8;
  const q = o.quality ?? 1;
  const N = o.tsnePoints ?? 40;
  const headNames = o.headNames ?? [HEADS[0].name, HEADS[1].name];
  const heads = headNames.map((n, i) => ({ name: n, classes: HEADS[i].classes }));
  const ev = path.join(dir, 'eval');
  fs.mkdirSync(ev, { recursive: true });
  const steps = (f: (k: number) => number) => Array.from({ length: H }, (_, k) => f(k));
  const rollout: NonNullable<EvalFile['rollout']> = {
    context: 4,
    horizon: H,
    windows: 12,
    latentMse: steps((k) => 0.01 * (k + 1) / q),
    pixelMseVsRecon: steps((k) => 0.002 * (k + 1)),
    psnrVsRecon: steps((k) => 26 - k),
    ssimVsRecon: steps((k) => 0.8 - 0.03 * k),
    pixelMseVsReal: steps((k) => 0.004 * (k + 1)),
    psnrVsReal: steps((k) => 20 * q - 0.5 * k),
    ssimVsReal: steps((k) => 0.6 - 0.02 * k),
    baselineLatentMse: steps((k) => 0.02 * (k + 1)),
    baselinePixelMseVsRecon: steps((k) => 0.005 * (k + 1)),
    baselinePixelMseVsReal: steps((k) => 0.006 * (k + 1)),
    baselinePsnrVsReal: steps((k) => 17 - 0.8 * k),
    baselineSsimVsReal: steps((k) => 0.5 - 0.03 * k),
    summary: { latentMse: 0.05, psnrVsReal: 18 },
    drift: {
      separability: steps((k) => Math.min(1, 0.52 + 0.05 * k)),
      frechet: steps((k) => 0.5 + 0.4 * k),
      copyLastSeparability: steps((k) => Math.min(1, 0.55 + 0.06 * k)),
      copyLastFrechet: steps((k) => 0.6 + 0.5 * k),
      classifier: 'logistic, 5-fold',
      samples: 48,
    },
  };
  const file: EvalFile = {
    data: o.dataText ?? 'synthetic fixture, 2 heads',
    reconstruction: { frames: 64, mse: 0.011, psnr: 19.6 * q, ssim: 0.63 },
  };
  if (o.unlabeled) {
    file.semanticNote = 'semantic metrics need labels: this data has none';
  } else {
    file.probe = {
      heads: heads.map((h, i) => ({ ...h, accuracy: o.unreliableHead && i === 1 ? 0.81 : 0.985, balancedAccuracy: 0.97, classCounts: [40, 35, 5], reliable: !(o.unreliableHead && i === 1) })),
      threshold: 0.95,
      trainFrames: 2400,
      heldOutFrames: 80,
      pairs: true,
    };
    rollout.semantic = semantic(H, q, headNames, !!o.unreliableHead);
    file.reconstruction!.perClass = heads.map((h) => ({ head: h.name, classes: h.classes.map((c, i) => ({ name: c, frames: 20 - 5 * i, mse: 0.01 + 0.004 * i, psnr: 20 - 2 * i, ssim: 0.65 - 0.05 * i })) }));
    file.reconstruction!.probeAccuracy = heads.map((h) => ({ head: h.name, real: 0.985, reconstruction: 0.93 }));
    file.closedLoop = { horizon: H, windows: 4, semantic: semantic(H, q * 0.95, headNames, false) };
  }
  file.rollout = rollout;
  writeJson(path.join(ev, 'eval.json'), file);

  if (!o.noExtras) {
    const rnd = lcg(7);
    const points: TsneFile['points'] = [];
    for (let i = 0; i < N; ++i) {
      const predicted = i >= N / 2;
      const step = o.tsneSteps ? o.tsneSteps[i % o.tsneSteps.length] : 1 + (i % H);
      const cls = i % 3;
      // real points in three label clusters; predicted ones drift outwards with the step
      const drift = predicted ? 0.6 * step : 0;
      points.push({ x: 10 * Math.cos((2 * Math.PI * cls) / 3) + drift + rnd(), y: 10 * Math.sin((2 * Math.PI * cls) / 3) + drift + rnd(), source: predicted ? 'predicted' : 'real', step, labels: [cls, (i >> 1) % 3] });
    }
    const tsne: TsneFile = { perplexity: 10, iterations: 500, seed: 1, trustworthiness: 0.97, heads, points };
    writeJson(path.join(ev, 'tsne.json'), tsne);

    const windows: FilmstripFile['windows'] = [];
    for (const [w, mode] of [[0, 'open loop'], [1, 'closed loop']] as const) {
      const rows: FilmstripFile['windows'][number]['rows'] = [];
      for (const [name, blur] of [['real', 0], ['reconstruction', 0.5], ['predicted', 1.5]] as const) {
        const f = `filmstrip_w${w}_${name}.png`;
        fs.writeFileSync(path.join(ev, f), strip(H, 60 + 40 * w, blur));
        rows.push({ name, file: f });
      }
      const trueLabels = Array.from({ length: H }, (_, k) => [k < H / 2 ? 0 : 1, 1]);
      const predictedLabels = Array.from({ length: H }, (_, k) => [k < H / 2 + w ? 0 : 1, k % 3 === 2 ? 2 : 1]);
      windows.push({ title: o.windowTitle ?? `episode ${w}, frames ${w * 20}..${w * 20 + 4 + H - 1}`, mode, context: 4, horizon: H, frameWidth: FRAME, frameHeight: FRAME, rows, trueLabels, predictedLabels });
    }
    const film: FilmstripFile = { heads, windows };
    writeJson(path.join(ev, 'filmstrips.json'), film);
  }

  fs.writeFileSync(path.join(dir, 'summary.md'), '# worldkit demo\n\nA fixture summary with <b>markup</b> & an ampersand.\n');
  for (const model of ['vae', 'predictor']) {
    fs.mkdirSync(path.join(dir, model), { recursive: true });
    const lines = Array.from({ length: 5 }, (_, e) => JSON.stringify({ time: 't', kind: 'epoch', step: 10 * (e + 1), epoch: e, loss: 1 / (e + 1), valLoss: 1.2 / (e + 1), lr: 1e-3 }));
    lines.splice(2, 0, JSON.stringify({ kind: 'batch', step: 3, epoch: 0, loss: 9 }));
    fs.writeFileSync(path.join(dir, model, 'metrics.jsonl'), lines.join('\n') + '\n{"torn');
  }
  return dir;
}
