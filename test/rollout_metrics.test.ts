/**
 * Issue 18, item 8: batched open-loop rollouts (identical to one at a time) and the metrics as the
 * literature defines them: mean of per-frame PSNR and SSIM, MAE, OpenSTL's per-frame MSE/MAE.
 */
import { generateEpisodes } from '../src/data';
import { createVAE } from '../src/train/train_vae';
import { createPredictor } from '../src/train/train_predictor';
import { openLoopRollout, framesToImages, decodeLatents, encodeFrames } from '../src/rollout/index';
import { evaluateRollouts, evaluateVAE } from '../src/diagnostics/evaluate';
import { frameErrors, framePsnr, mae, mse, psnrFromMse, ssim } from '../src/diagnostics/image_metrics';

const eps = generateEpisodes({ episodes: 3, steps: 30, seed: 7, cacheDir: false });
const vae = createVAE({ encoderChannels: [4, 8, 8, 16], latentShape: [4, 4, 4], seed: 2 });
const predictor = createPredictor(vae, { hiddenSize: 16, seed: 3 });
const per = 64 * 64 * 3;
/** Byte-identical (jest's toEqual on large typed arrays is slow). */
const same = (a: ArrayBufferView, b: ArrayBufferView) => expect(Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength))).toBe(true);

test('openLoopRollout with batch B gives, per sequence, exactly what B single rollouts give', () => {
  const C = 3, Hz = 5, L = C + Hz, B = 4;
  const starts: [number, number][] = [[0, 0], [1, 4], [2, 11], [0, 20]];
  const frames = new Uint8Array(B * L * per);
  const actions = new Float32Array(B * L * 3);
  starts.forEach(([e, t0], b) => {
    frames.set(eps[e].frames.subarray(t0 * per, (t0 + L) * per), b * L * per);
    actions.set(eps[e].actions.subarray(t0 * 3, (t0 + L) * 3), b * L * 3);
  });
  const all = openLoopRollout(predictor, vae, { frames, actions, context: C, horizon: Hz, batch: B });
  expect(all.batch).toBe(B);
  const D = predictor.latentSize;
  starts.forEach(([e, t0], b) => {
    const one = openLoopRollout(predictor, vae, { frames: eps[e].frames.subarray(t0 * per, (t0 + L) * per), actions: eps[e].actions.subarray(t0 * 3, (t0 + L) * 3), context: C, horizon: Hz });
    expect(one.batch).toBe(1);
    same(all.predLatents.subarray(b * Hz * D, (b + 1) * Hz * D), one.predLatents);
    same(all.predFrames.subarray(b * Hz * per, (b + 1) * Hz * per), one.predFrames);
    same(all.trueLatents!.subarray(b * Hz * D, (b + 1) * Hz * D), one.trueLatents!);
    same(all.realFrames!.subarray(b * Hz * per, (b + 1) * Hz * per), one.realFrames!);
    same(all.reconFrames!.subarray(b * Hz * per, (b + 1) * Hz * per), one.reconFrames!);
    same(all.lastContextLatent.subarray(b * D, (b + 1) * D), one.lastContextLatent);
  });
  expect(() => openLoopRollout(predictor, vae, { frames: frames.subarray(1), actions, context: C, horizon: Hz, batch: B })).toThrow(/openLoopRollout: input.frames must hold batch = 4 sequences/);
  expect(() => openLoopRollout(predictor, vae, { frames, actions, context: C, horizon: Hz, batch: 0 })).toThrow(/openLoopRollout: batch must be an integer/);
});

test('metric definitions: per-frame PSNR averaged, OpenSTL sums, MAE', () => {
  const a = new Float32Array([0, 0.5, 1, 0.25]), b = new Float32Array([0.1, 0.5, 0.5, 0.25]);
  const e = frameErrors(a, b);
  expect(e.sse).toBeCloseTo(0.01 + 0.25, 6);
  expect(e.sae).toBeCloseTo(0.1 + 0.5, 6);
  expect(e.mse).toBeCloseTo(0.26 / 4, 6);
  expect(mae(a, b)).toBeCloseTo(0.6 / 4, 6);
  expect(framePsnr(0.01)).toBeCloseTo(20, 10);
  expect(framePsnr(0)).toBe(100); // identical frames: capped, so a mean stays finite
  // the mean of per-frame PSNR differs from the PSNR of the mean MSE
  expect((framePsnr(0.01) + framePsnr(0.0001)) / 2).toBeCloseTo(30, 10);
  expect(psnrFromMse((0.01 + 0.0001) / 2)).toBeLessThan(23.1);
});

test('evaluateRollouts: per-step metrics are per-frame metrics averaged over windows; batching does not change them', () => {
  const C = 3, Hz = 4;
  const r = evaluateRollouts(predictor, vae, eps, { context: C, horizon: Hz, maxWindows: 5, windowStride: 5 });
  const r1 = evaluateRollouts(predictor, vae, eps, { context: C, horizon: Hz, maxWindows: 5, windowStride: 5, batch: 1 });
  expect(r1).toEqual(r);
  expect(r.windows).toBe(5);
  expect(r.channels).toBe(3);
  // recompute by hand, one window at a time
  const starts: [number, number][] = [];
  eps.forEach((e, i) => { for (let t = 0; t + C + Hz <= e.length; t += 5) starts.push([i, t]); });
  const pick = Array.from({ length: 5 }, (_, k) => starts[Math.floor((k * starts.length) / 5)]);
  const img = 3 * 64 * 64;
  const want = { psnr: new Array(Hz).fill(0), ssim: new Array(Hz).fill(0), sse: new Array(Hz).fill(0), sae: new Array(Hz).fill(0), pix: new Array(Hz).fill(0), cp: new Array(Hz).fill(0), rp: new Array(Hz).fill(0) };
  for (const [e, t0] of pick) {
    const ep = eps[e];
    const o = openLoopRollout(predictor, vae, { frames: ep.frames.subarray(t0 * per, (t0 + C + Hz) * per), actions: ep.actions.subarray(t0 * 3, (t0 + C + Hz) * 3), context: C, horizon: Hz });
    const real = framesToImages(o.realFrames!, Hz);
    const last = framesToImages(ep.frames.subarray((t0 + C - 1) * per, (t0 + C) * per), 1);
    for (let k = 0; k < Hz; ++k) {
      const p = o.predImages.subarray(k * img, (k + 1) * img), x = real.subarray(k * img, (k + 1) * img), rc = o.reconImages!.subarray(k * img, (k + 1) * img);
      const m = mse(p, x);
      want.psnr[k] += -10 * Math.log10(m) / 5;
      want.ssim[k] += ssim(p, x, [3, 64, 64]) / 5;
      let se = 0, ae = 0;
      for (let i = 0; i < img; ++i) { se += (p[i] - x[i]) ** 2; ae += Math.abs(p[i] - x[i]); }
      want.sse[k] += se / 5;
      want.sae[k] += ae / 5;
      want.pix[k] += m / 5;
      want.cp[k] += -10 * Math.log10(mse(last, x)) / 5;
      want.rp[k] += -10 * Math.log10(mse(rc, x)) / 5;
    }
  }
  for (let k = 0; k < Hz; ++k) {
    expect(r.psnrVsReal[k]).toBeCloseTo(want.psnr[k], 6);
    expect(r.ssimVsReal[k]).toBeCloseTo(want.ssim[k], 6);
    expect(r.frameMseVsReal![k]).toBeCloseTo(want.sse[k], 3);
    expect(r.frameMaeVsReal![k]).toBeCloseTo(want.sae[k], 3);
    expect(r.pixelMseVsReal[k]).toBeCloseTo(want.pix[k], 8);
    expect(r.frameMseVsReal![k] / img).toBeCloseTo(r.pixelMseVsReal[k], 8);
    expect(r.baselinePsnrVsReal[k]).toBeCloseTo(want.cp[k], 6);
    expect(r.reconPsnrVsReal![k]).toBeCloseTo(want.rp[k], 6);
  }
  for (const k of ['frameMseVsReal', 'frameMaeVsReal', 'baselineFrameMseVsReal', 'reconFrameMseVsReal', 'reconSsimVsReal']) expect(Number.isFinite(r.summary[k])).toBe(true);
});

test('evaluateVAE: psnr is the mean of per-frame PSNR; mae, frameMse and frameMae reported', () => {
  const rep = evaluateVAE(vae, eps, { maxFrames: 6 });
  expect(rep.frames).toBe(6);
  const refs: [number, number][] = [];
  eps.forEach((e, i) => { for (let t = 0; t < e.length; ++t) refs.push([i, t]); });
  const pick = Array.from({ length: 6 }, (_, k) => refs[Math.floor((k * refs.length) / 6)]);
  const frames = new Uint8Array(6 * per);
  pick.forEach(([e, t], k) => frames.set(eps[e].frames.subarray(t * per, (t + 1) * per), k * per));
  const rec = decodeLatents(vae, encodeFrames(vae, frames, 6)).images;
  const real = framesToImages(frames, 6);
  const img = per;
  let p = 0;
  for (let k = 0; k < 6; ++k) p += -10 * Math.log10(mse(rec.subarray(k * img, (k + 1) * img), real.subarray(k * img, (k + 1) * img))) / 6;
  expect(rep.psnr).toBeCloseTo(p, 6);
  expect(rep.mae!).toBeCloseTo(mae(rec, real), 6);
  expect(rep.frameMse! / img).toBeCloseTo(rep.mse, 8);
  expect(rep.frameMae! / img).toBeCloseTo(rep.mae!, 8);
});
