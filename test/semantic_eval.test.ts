/**
 * evaluateWorldModel end to end (issue 11 §2-§3) on small models, with stand-in predictors that
 * make the answers known: an oracle that "predicts" the true future latents, a constant one, and
 * the untrained LSTM. Checks the files written (eval.json, tsne.json, filmstrips.json, strips,
 * charts) against eval_schema.ts and the sanity anchors of every metric.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { generateEpisodes } from '../src/data/driving_sim';
import type { Episode } from '../src/data/episode';
import { createVAE } from '../src/train/train_vae';
import { createPredictor } from '../src/train/train_predictor';
import { LatentPredictor } from '../src/models/latent_predictor';
import { Tensor } from '../src/tensor/tensor';
import { encodeFrames } from '../src/rollout/index';
import { evaluateWorldModel } from '../src/diagnostics/world_model_eval';
import { evaluateVAE, evaluateRollouts } from '../src/diagnostics/evaluate';
import { trainSemanticProbe, TrainedProbe } from '../src/diagnostics/semantic_probe';
import type { EvalFile, FilmstripFile, TsneFile } from '../src/diagnostics/eval_schema';

const tmpDirs: string[] = [];
const tmp = () => {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'wk-semeval-'));
  tmpDirs.push(d);
  return d;
};
afterAll(() => {
  for (const d of tmpDirs) fs.rmSync(d, { recursive: true, force: true });
});

const C = 3, Hz = 6;
const eps: Episode[] = generateEpisodes({ episodes: 3, steps: 40, seed: 7, cacheDir: false });
const vae = createVAE({ encoderChannels: [4, 8, 8, 16], latentShape: [4, 4, 4], seed: 2 }).eval();
const D = 64;

/** Returns the true latents of the window whose context ends with the given latent. */
class OraclePredictor extends LatentPredictor {
  private readonly table = new Map<string, Float32Array>();
  constructor(episodes: Episode[]) {
    super({ latentShape: [4, 4, 4], actionSize: 3, hiddenSize: 4, seed: 1 });
    const per = 64 * 64 * 3;
    for (const ep of episodes) {
      const z = encodeFrames(vae, ep.frames, ep.length);
      for (let t = C - 1; t + Hz < ep.length; ++t) this.table.set(key(z.subarray(t * D, (t + 1) * D)), z.slice((t + 1) * D, (t + 1 + Hz) * D));
      void per;
    }
  }
  override rollout(contextZ: Tensor, _a: Tensor | null | undefined, horizon: number): Tensor {
    // evaluateRollouts rolls windows out in batches: one row per window
    const z = contextZ.toFloat32Array();
    const B = contextZ.shape[0];
    const perRow = z.length / B;
    const out = new Float32Array(B * horizon * D);
    for (let b = 0; b < B; ++b) {
      const last = z.subarray((b + 1) * perRow - D, (b + 1) * perRow);
      const future = this.table.get(key(last));
      if (!future || horizon !== Hz) throw new Error('oracle: unknown window');
      out.set(future, b * horizon * D);
    }
    return new Tensor([B, horizon, D], 'float32', out);
  }
}
function key(z: Float32Array): string {
  return Buffer.from(z.buffer, z.byteOffset, z.byteLength).toString('base64');
}

/** Predicts the same latent (zeros) at every step. */
class ConstantPredictor extends LatentPredictor {
  constructor() {
    super({ latentShape: [4, 4, 4], actionSize: 3, hiddenSize: 4, seed: 1 });
  }
  override rollout(z: Tensor, _a: Tensor | null | undefined, horizon: number): Tensor {
    return new Tensor([z.shape[0], horizon, D], 'float32', new Float32Array(z.shape[0] * horizon * D));
  }
}

let probe: TrainedProbe;
beforeAll(async () => {
  const train = generateEpisodes({ episodes: 2, steps: 40, seed: 8, cacheDir: false });
  probe = await trainSemanticProbe(train, { heldOut: eps.slice(0, 1), epochs: 1, probe: { channels: [4, 8, 8, 8], hidden: 16 } });
}, 120000);

const read = <T>(f: string): T => JSON.parse(fs.readFileSync(f, 'utf8'));

describe('evaluateWorldModel', () => {
  test('writes every file of the schema; the oracle anchors: predicted = reconstruction, separability ~0.5, Fréchet 0', () => {
    const dir = tmp();
    const r = evaluateWorldModel(vae, new OraclePredictor(eps), eps, dir, { context: C, horizon: Hz, windows: 24, windowStride: 3, probe, closedLoopRuns: 0, tsne: { iterations: 300 }, filmstrips: 2, data: 'test data' });
    for (const f of ['eval.json', 'tsne.json', 'filmstrips.json', 'semantic_retention_per_step.svg', 'semantic_changed_per_step.svg', 'separability_per_step.svg', 'frechet_per_step.svg', 'latent_mse_per_step.svg'])
      expect(fs.existsSync(path.join(dir, f))).toBe(true);
    const e = read<EvalFile>(path.join(dir, 'eval.json'));
    expect(e.data).toBe('test data');
    expect(e.probe!.heads.map((h) => h.name)).toEqual(['lane', 'curve', 'speed']);
    expect(e.reconstruction!.perClass!.map((p) => p.head)).toEqual(['lane', 'curve', 'speed']);
    // per-class frame counts add up to the frames evaluated
    for (const p of e.reconstruction!.perClass!) expect(p.classes.reduce((s, c) => s + c.frames, 0)).toBe(e.reconstruction!.frames);
    expect(e.reconstruction!.probeAccuracy!.length).toBe(3);
    const ro = e.rollout!;
    expect(ro.windows).toBe(24);
    expect(ro.latentMse.every((v) => v === 0)).toBe(true);
    const sem = ro.semantic!;
    // the prediction decodes to exactly the reconstruction: the probe reads them alike
    for (const h of sem.perHead) expect(h.accuracy.predicted).toEqual(h.accuracy.reconstruction);
    expect(sem.overall.retention).toEqual(sem.overall.reconstructionRetention);
    expect(typeof sem.probeUnreliable).toBe('boolean');
    const d = ro.drift!;
    expect(d.samples).toBe(24);
    for (let k = 0; k < Hz; ++k) {
      expect(Math.abs(d.separability[k] - 0.5)).toBeLessThanOrEqual(0.15);
      expect(Math.abs(d.frechet[k])).toBeLessThan(1e-6);
    }
    // t-SNE: real and predicted latents of each chosen step, one point each
    const t = read<TsneFile>(path.join(dir, 'tsne.json'));
    expect(t.points.length).toBe(2 * 2 * 24); // steps 1, 4 (and 8, 16 are past the horizon of 6)
    expect(new Set(t.points.map((p) => p.step))).toEqual(new Set([1, 4]));
    expect(t.points.filter((p) => p.source === 'real').length).toBe(t.points.length / 2);
    expect(t.points.every((p) => Number.isFinite(p.x) && Number.isFinite(p.y) && p.labels.length === 3)).toBe(true);
    expect(t.trustworthiness).toBeGreaterThan(0.5);
    const s = read<FilmstripFile>(path.join(dir, 'filmstrips.json'));
    expect(s.windows.length).toBe(2);
    for (const w of s.windows) {
      expect(w.rows.map((x) => x.name)).toEqual(['real', 'reconstruction', 'predicted']);
      for (const row of w.rows) expect(fs.existsSync(path.join(dir, row.file))).toBe(true);
      expect(w.trueLabels.length).toBe(Hz);
      expect(w.predictedLabels.length).toBe(Hz);
    }
    // closed loop on the simulator (the oracle cannot dream: it only knows the test windows)
    expect(r.closedLoop).toBeUndefined();
  }, 240000);

  test('a constant prediction drifts: separability near 1, a large Fréchet distance', () => {
    const dir = tmp();
    const r = evaluateWorldModel(vae, new ConstantPredictor(), eps, dir, { context: C, horizon: Hz, windows: 24, windowStride: 3, probe, closedLoopRuns: 0, tsne: false, filmstrips: 0 });
    const d = r.rollout!.drift!;
    expect(Math.min(...d.separability)).toBeGreaterThan(0.9);
    expect(Math.min(...d.frechet)).toBeGreaterThan(1e-3);
    expect(fs.existsSync(path.join(dir, 'tsne.json'))).toBe(false);
  }, 240000);

  test('an untrained LSTM: closed-loop retention on the simulator; the changed subset grows with the horizon', () => {
    const dir = tmp();
    const predictor = createPredictor(vae, { hiddenSize: 8, seed: 3 });
    const longEps = generateEpisodes({ episodes: 2, steps: 80, seed: 9, cacheDir: false });
    const r = evaluateWorldModel(vae, predictor, longEps, dir, { context: 4, horizon: 16, windows: 20, windowStride: 3, probe, closedLoopRuns: 1, tsne: false, filmstrips: 1 });
    const cl = r.closedLoop!;
    expect(cl.horizon).toBe(16);
    expect(cl.windows).toBeGreaterThan(0);
    expect(cl.semantic!.overall.retention.length).toBe(16);
    const sem = r.rollout!.semantic!;
    // labels drift away from the last context frame's, so the share that changed grows
    expect(sem.overall.changed.count[15]).toBeGreaterThan(sem.overall.changed.count[0]);
    // (copy-last's accuracy falling with the horizon needs a trained probe: test/semantic_sim.test.ts)
  }, 240000);

  test('unlabeled data: a note instead of semantic metrics; clear errors', () => {
    const dir = tmp();
    const unlabeled = eps.map((e) => ({ ...e, labels: undefined, labelDim: 0, labelHeads: undefined }));
    const r = evaluateWorldModel(vae, null, unlabeled, dir, { probe });
    expect(r.semanticNote).toMatch(/need per-frame labels/);
    expect(r.rollout).toBeUndefined();
    expect(() => evaluateVAE(vae, [])).toThrow(/evaluateVAE: episodes hold no frames/);
    expect(() => evaluateRollouts(null as unknown as LatentPredictor, vae, eps)).toThrow(/evaluateRollouts: predictor must be a latent predictor/);
    expect(() => evaluateRollouts(new ConstantPredictor(), vae, unlabeled, { probe: probe.probe, horizon: Hz, context: C })).toThrow(/semantic metrics need labeled episodes/);
    expect(() => evaluateWorldModel(vae, null, [], dir)).toThrow(/evaluateWorldModel: episodes/);
  }, 120000);
});
