/**
 * The semantic probe (issue 11 §1) and the retention bookkeeping (§2): construction errors,
 * learning a decidable label (incl. one that needs motion), held-out quality, save / load / reuse
 * by data fingerprint, the unlabeled-data message, and RetentionAccumulator against a brute-force
 * count with the sanity anchors (truth as prediction, constant and shuffled readings).
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { SemanticProbe } from '../src/models/semantic_probe';
import {
  trainSemanticProbe,
  probeQuality,
  saveSemanticProbe,
  loadSemanticProbe,
  ensureSemanticProbe,
  dataFingerprint,
  requireLabels,
  headScores,
} from '../src/diagnostics/semantic_probe';
import { RetentionAccumulator, readSources, predecessors } from '../src/diagnostics/semantic_retention';
import type { Episode, LabelHead } from '../src/data/episode';
import { labelHeadsOf } from '../src/data/episode';
import { generateEpisodes, SIM_LABEL_HEADS } from '../src/data/driving_sim';
import { Generator } from '../src/random/generator';

const tmpDirs: string[] = [];
const tmp = () => {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'wk-probe-'));
  tmpDirs.push(d);
  return d;
};
afterAll(() => {
  for (const d of tmpDirs) fs.rmSync(d, { recursive: true, force: true });
});

const HEADS: LabelHead[] = [
  { name: 'colour', classes: ['red', 'green', 'blue'] },
  { name: 'motion', classes: ['still', 'moving'] },
];

/**
 * Synthetic labeled episodes, 16x16: a bright square on a noisy background whose colour is label 0;
 * label 1 says whether the square moved since the previous frame (decidable only from the pair).
 */
function synthEpisodes(n: number, len: number, seed: number): Episode[] {
  const g = new Generator(seed);
  const u = new Float32Array(4);
  const out: Episode[] = [];
  for (let e = 0; e < n; ++e) {
    const H = 16, W = 16;
    const frames = new Uint8Array(len * H * W * 3);
    const labels = new Int32Array(len * 2);
    let x = 4, y = 4;
    const noise = new Float32Array(H * W * 3);
    for (let t = 0; t < len; ++t) {
      g.fillUniform(u);
      const colour = Math.min(2, Math.floor(u[0] * 3));
      const moving = t > 0 && u[1] < 0.5 ? 1 : 0;
      if (moving) {
        x = (x + 1 + Math.floor(u[2] * 3)) % (W - 4);
        y = (y + 1 + Math.floor(u[3] * 3)) % (H - 4);
      }
      g.fillUniform(noise, 0, 30);
      for (let p = 0; p < H * W; ++p) for (let c = 0; c < 3; ++c) frames[(t * H * W + p) * 3 + c] = noise[p * 3 + c];
      for (let dy = 0; dy < 4; ++dy)
        for (let dx = 0; dx < 4; ++dx) {
          const p = (t * H * W + (y + dy) * W + (x + dx)) * 3;
          frames[p] = colour === 0 ? 230 : 40;
          frames[p + 1] = colour === 1 ? 230 : 40;
          frames[p + 2] = colour === 2 ? 230 : 40;
        }
      labels[t * 2] = colour;
      labels[t * 2 + 1] = moving;
    }
    out.push({ length: len, height: H, width: W, frames, actionDim: 0, actions: new Float32Array(0), labelDim: 2, labels, labelHeads: HEADS, source: `synthetic ${seed}/${e}` });
  }
  return out;
}

describe('SemanticProbe', () => {
  test('bad options are refused by name', () => {
    expect(() => new SemanticProbe({ heads: [] })).toThrow(/SemanticProbe: heads/);
    expect(() => new SemanticProbe({ heads: [{ name: 'x', classes: ['only'] }] })).toThrow(/heads\[0\]/);
    expect(() => new SemanticProbe({ heads: HEADS, inputShape: [3, 20, 16] })).toThrow(/divisible by 16/);
    const p = new SemanticProbe({ heads: HEADS, inputShape: [3, 16, 16] });
    expect(() => p.input(new Float32Array(10), null, 1)).toThrow(/SemanticProbe.input: images/);
    expect(() => p.input(new Float32Array(3 * 16 * 16), null, 1)).toThrow(/previous/);
  });

  test('input holds the frame and its difference to the predecessor', () => {
    const p = new SemanticProbe({ heads: HEADS, inputShape: [3, 16, 16], channels: [4, 4, 4, 4], hidden: 8 });
    const per = 3 * 16 * 16;
    const a = new Float32Array(2 * per).map((_, i) => (i % 7) / 7);
    const b = new Float32Array(2 * per).map((_, i) => (i % 5) / 5);
    const x = p.input(a, b, 2).toFloat32Array();
    expect(x.length).toBe(4 * per);
    for (const [s, i] of [[1, 17], [1, per - 1], [0, 3]]) {
      expect(x[s * 2 * per + i]).toBeCloseTo(a[s * per + i], 6);
      expect(x[s * 2 * per + per + i]).toBeCloseTo(a[s * per + i] - b[s * per + i], 6);
    }
    const logits = p.forward(p.input(a, b, 2));
    expect(logits.map((l) => l.shape)).toEqual([[2, 3], [2, 2]]);
  });

  test('learns a static and a motion label from real frames; held-out quality; save/load/reuse', async () => {
    const train = synthEpisodes(16, 40, 1);
    const held = synthEpisodes(2, 40, 2);
    const r = await trainSemanticProbe(train, { heldOut: held, epochs: 14, batchSize: 16, lr: 3e-3, probe: { channels: [8, 16, 16, 16], hidden: 32 } });
    const [colour, motion] = r.quality.heads;
    expect(colour.accuracy).toBeGreaterThan(0.95);
    expect(colour.reliable).toBe(true);
    // the motion label needs the predecessor: well above the 50% a single frame allows
    expect(motion.accuracy).toBeGreaterThan(0.8);
    expect(r.quality.heldOutFrames).toBe(2 * 39);
    expect(colour.classCounts.reduce((s, v) => s + v, 0)).toBe(78);
    // same quality when measured again (deterministic eval)
    expect(probeQuality(r.probe, held, r.quality.trainFrames).heads[0].accuracy).toBe(colour.accuracy);

    const dir = tmp();
    saveSemanticProbe(dir, r, 'key-1');
    const back = loadSemanticProbe(dir);
    expect(back.trainData).toBe('key-1');
    const imgs = new Float32Array(3 * 3 * 16 * 16).map((_, i) => ((i * 37) % 101) / 101);
    const prev = new Float32Array(imgs.length).map((_, i) => ((i * 13) % 97) / 97);
    expect(back.probe.classify(imgs, prev, 3)).toEqual(r.probe.classify(imgs, prev, 3));

    // trained once, then reused for the same data and options (also through the shared cache),
    // retrained for other data or other options
    const small = { heldOut: held, epochs: 1, probe: { channels: [4, 4, 4, 4] as [number, number, number, number], hidden: 8 } };
    const cache = tmp();
    const first = await ensureSemanticProbe(dir, train, { ...small, cacheDir: cache });
    expect(first.reused).toBe(false);
    expect((await ensureSemanticProbe(dir, train, small)).reused).toBe(true);
    const elsewhere = path.join(tmp(), 'probe');
    const viaCache = await ensureSemanticProbe(elsewhere, train, { ...small, cacheDir: cache });
    expect(viaCache.reused).toBe(true);
    expect(fs.existsSync(path.join(elsewhere, 'probe.json'))).toBe(true);
    expect(viaCache.probe.classify(imgs, prev, 3)).toEqual(first.probe.classify(imgs, prev, 3));
    expect((await ensureSemanticProbe(dir, synthEpisodes(2, 20, 9), small)).reused).toBe(false);
    expect((await ensureSemanticProbe(dir, synthEpisodes(2, 20, 9), { ...small, epochs: 2 })).reused).toBe(false);
    expect(dataFingerprint(train)).not.toBe(dataFingerprint(synthEpisodes(2, 20, 9)));

    // a damaged folder is named in the error
    fs.writeFileSync(path.join(dir, 'probe.json'), '{"format": "something else"}');
    expect(() => loadSemanticProbe(dir)).toThrow(/loadSemanticProbe: .*probe\.json is not a worldkit semantic probe/);
    expect(() => loadSemanticProbe(path.join(dir, 'missing'))).toThrow(/does not exist/);
  }, 120000);

  test('unlabeled data gets the semantic-metrics message', () => {
    const eps = synthEpisodes(1, 4, 3).map((e) => ({ ...e, labels: undefined, labelDim: 0, labelHeads: undefined }));
    expect(() => requireLabels('trainSemanticProbe', eps)).toThrow(/semantic metrics need per-frame labels/);
    return expect(trainSemanticProbe(eps)).rejects.toThrow(/trainSemanticProbe: semantic metrics need per-frame labels/);
  });

  test('simulator episodes carry their label heads, from the cache too', () => {
    const dir = tmp();
    const a = generateEpisodes({ episodes: 1, steps: 8, seed: 5, cacheDir: dir });
    const b = generateEpisodes({ episodes: 1, steps: 8, seed: 5, cacheDir: dir });
    expect(labelHeadsOf(a)).toEqual(SIM_LABEL_HEADS);
    expect(labelHeadsOf(b)).toEqual(SIM_LABEL_HEADS);
    // generic names when a dataset does not name its columns
    expect(labelHeadsOf([{ ...a[0], labelHeads: undefined }]).map((h) => h.name)).toEqual(['label 0', 'label 1', 'label 2']);
  });
});

describe('RetentionAccumulator', () => {
  const heads: LabelHead[] = [
    { name: 'a', classes: ['0', '1', '2'] },
    { name: 'b', classes: ['0', '1'] },
  ];
  const Hz = 5, nh = 2, W = 40;
  const g = new Generator(11);
  const draw = (n: number, k: number) => {
    const u = new Float32Array(n);
    g.fillUniform(u);
    return Int32Array.from(u, (v) => Math.min(k - 1, Math.floor(v * k)));
  };
  // windows: truth per step, the last context label, and readings per source
  const windows = Array.from({ length: W }, () => {
    const last = Int32Array.from([draw(1, 3)[0], draw(1, 2)[0]]);
    const truth = new Int32Array(Hz * nh);
    const flip = new Float32Array(Hz * nh);
    g.fillUniform(flip);
    for (let k = 0; k < Hz; ++k) {
      // labels persist, and change more often later in the horizon
      truth[k * nh] = flip[k * nh] < 0.1 * (k + 1) ? draw(1, 3)[0] : last[0];
      truth[k * nh + 1] = flip[k * nh + 1] < 0.1 * (k + 1) ? draw(1, 2)[0] : last[1];
    }
    const noisy = truth.map((v, i) => (i % 3 === 0 && flip[i] > 0.8 ? (v + 1) % (i % nh === 0 ? 3 : 2) : v));
    const copy = new Int32Array(Hz * nh);
    for (let k = 0; k < Hz; ++k) copy.set(last, k * nh);
    return { truth, last, read: { predicted: noisy, reconstruction: truth.slice(), real: truth.slice(), copyLast: copy } };
  });
  const acc = new RetentionAccumulator(heads, Hz);
  for (const w of windows) acc.addWindow(w.truth, w.last, w.read);
  const r = acc.result(false);

  test('accuracies and changed counts equal a brute-force count', () => {
    for (let h = 0; h < nh; ++h)
      for (let k = 0; k < Hz; ++k) {
        let right = 0, changed = 0, changedRight = 0, copyRight = 0;
        for (const w of windows) {
          const y = w.truth[k * nh + h];
          if (w.read.predicted[k * nh + h] === y) right++;
          if (w.read.copyLast[k * nh + h] === y) copyRight++;
          if (y !== w.last[h]) {
            changed++;
            if (w.read.predicted[k * nh + h] === y) changedRight++;
          }
        }
        expect(r.perHead[h].accuracy.predicted[k]).toBeCloseTo(right / W, 12);
        expect(r.perHead[h].accuracy.copyLast[k]).toBeCloseTo(copyRight / W, 12);
        expect(r.perHead[h].changed.count[k]).toBe(changed);
        if (changed) expect(r.perHead[h].changed.accuracy.predicted[k]).toBeCloseTo(changedRight / changed, 12);
        // copy-last can never be right where the label changed
        if (changed) expect(r.perHead[h].changed.accuracy.copyLast[k]).toBe(0);
      }
    expect(r.windows).toBe(W);
    expect(r.overall.changed.count).toEqual(Array.from({ length: Hz }, (_, k) => r.perHead[0].changed.count[k] + r.perHead[1].changed.count[k]));
  });

  test('anchors: truth as prediction gives retention 1; copy-last falls with the horizon', () => {
    // reconstruction = real here, so its retention is exactly 1 at every step
    expect(r.overall.reconstructionRetention.every((v) => v === 1)).toBe(true);
    expect(r.overall.copyLastRetention[Hz - 1]).toBeLessThan(r.overall.copyLastRetention[0]);
    expect(r.overall.retention.every((v) => v <= 1 && v > 0.5)).toBe(true);
    expect(r.overall.retention.some((v) => v < 1)).toBe(true);
  });

  test('constant readings score the class frequency (chance), shuffled ones near it', () => {
    const c = new RetentionAccumulator(heads, Hz);
    const s = new RetentionAccumulator(heads, Hz);
    windows.forEach((w, i) => {
      const other = windows[(i * 7 + 3) % W];
      c.addWindow(w.truth, w.last, { ...w.read, predicted: new Int32Array(Hz * nh) });
      s.addWindow(w.truth, w.last, { ...w.read, predicted: other.truth });
    });
    const rc = c.result(false), rs = s.result(false);
    const freq0 = (h: number, k: number) => windows.filter((w) => w.truth[k * nh + h] === 0).length / W;
    for (let k = 0; k < Hz; ++k) {
      expect(rc.perHead[0].accuracy.predicted[k]).toBeCloseTo(freq0(0, k), 12);
      expect(rc.perHead[1].accuracy.predicted[k]).toBeCloseTo(freq0(1, k), 12);
    }
    const mean = (a: number[]) => a.reduce((x, y) => x + y, 0) / a.length;
    expect(mean(rs.overall.retention)).toBeLessThan(0.8);
  });

  test('readSources: the true frames as the prediction read exactly as the true frames', () => {
    const p = new SemanticProbe({ heads, inputShape: [3, 16, 16], channels: [4, 4, 4, 4], hidden: 8, seed: 3 });
    const per = 3 * 16 * 16;
    const real = new Float32Array(Hz * per).map((_, i) => ((i * 31) % 17) / 17);
    const last = new Float32Array(per).map((_, i) => ((i * 7) % 13) / 13);
    const read = readSources(p, { predicted: real, reconstruction: real, real, lastReal: last, lastRecon: last, beforeLast: last }, Hz);
    expect(read.predicted).toEqual(read.real);
    expect(read.copyLast.length).toBe(Hz * nh);
    expect(predecessors(real, last, Hz, per).subarray(per, 2 * per)).toEqual(real.subarray(0, per));
  });

  test('headScores: balanced accuracy averages per-class recall over present classes', () => {
    const truth = Int32Array.from([0, 0, 0, 1]);
    const pred = Int32Array.from([0, 0, 0, 0]);
    const s = headScores(pred, truth, [{ name: 'x', classes: ['a', 'b', 'c'] }])[0];
    expect(s.accuracy).toBe(0.75);
    expect(s.balancedAccuracy).toBe(0.5);
    expect(s.classCounts).toEqual([3, 1, 0]);
    expect(s.reliable).toBe(false);
  });
});
