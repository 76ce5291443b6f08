/**
 * The semantic probe on the driving simulator, at the demo's settings (issue 11: "the probe
 * reaches >= 95% held-out accuracy per head on the simulator's real frames"), and copy-last's
 * retention on simulator test windows falling with the horizon. The slowest semantic test
 * (about 3 minutes on 2 cores): it trains the demo's probe.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { generateEpisodes } from '../src/data/driving_sim';
import { DEMO_FULL } from '../src/train/demo';
import { trainSemanticProbe, TrainedProbe } from '../src/diagnostics/semantic_probe';
import { evaluateRollouts } from '../src/diagnostics/evaluate';
import { createVAE } from '../src/train/train_vae';
import { createPredictor } from '../src/train/train_predictor';

const cache = fs.mkdtempSync(path.join(os.tmpdir(), 'wk-semsim-'));
afterAll(() => fs.rmSync(cache, { recursive: true, force: true }));

let trained: TrainedProbe;
beforeAll(async () => {
  const seed = 1;
  const train = generateEpisodes({ episodes: DEMO_FULL.probeEpisodes, steps: DEMO_FULL.steps, seed: seed + 3000, cacheDir: cache });
  const heldOut = generateEpisodes({ episodes: DEMO_FULL.probeHeldOutEpisodes, steps: DEMO_FULL.steps, seed: seed + 4000, cacheDir: cache });
  trained = await trainSemanticProbe(train, { heldOut, epochs: DEMO_FULL.probeEpochs, seed });
}, 1500000);

test('the demo probe reaches >= 95% held-out accuracy on every head of the simulator', () => {
  const q = trained.quality;
  expect(q.heads.map((h) => h.name)).toEqual(['lane', 'curve', 'speed']);
  expect(q.heldOutFrames).toBeGreaterThan(1000);
  for (const h of q.heads) {
    expect(h.accuracy).toBeGreaterThanOrEqual(0.95);
    expect(h.reliable).toBe(true);
    expect(h.balancedAccuracy).toBeGreaterThan(0.85);
  }
});

test("copy-last's accuracy and retention fall with the horizon on simulator test windows", () => {
  // The world model plays no part in copy-last's and the real frames' readings: small untrained models do.
  const vae = createVAE({ encoderChannels: [4, 8, 8, 16], latentShape: [4, 4, 4], seed: 2 });
  const predictor = createPredictor(vae, { hiddenSize: 8, seed: 3 });
  const test = generateEpisodes({ episodes: 2, steps: DEMO_FULL.steps, seed: 1001, cacheDir: cache });
  const r = evaluateRollouts(predictor, vae, test, { context: 4, horizon: 16, maxWindows: 48, windowStride: 4, probe: trained.probe });
  const o = r.semantic!.overall;
  expect(o.accuracy.copyLast[15]).toBeLessThan(o.accuracy.copyLast[0] - 0.05);
  expect(o.copyLastRetention[15]).toBeLessThan(o.copyLastRetention[0]);
  // the probe reads the real frames reliably at every step
  expect(Math.min(...o.accuracy.real)).toBeGreaterThan(0.9);
  // and where the label changed, copy-last is (almost) never right while the real frames are
  const k = 15;
  expect(o.changed.count[k]).toBeGreaterThan(5);
  expect(o.changed.accuracy.copyLast[k]).toBeLessThan(0.2);
  expect(o.changed.accuracy.real[k]).toBeGreaterThan(0.7);
}, 600000);
