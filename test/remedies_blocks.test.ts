/**
 * Issue 12's building blocks: the remedy losses (value and gradient against float64 references,
 * the gradient by central finite differences of the float64 reference, on 'cpu' and emulated
 * 'cuda'), spectral normalization (the normalized weight's top singular value reaches 1, the
 * gradient with u and v constant, u and v saved and resumed bit-identically, the same on 'cuda'),
 * the discriminators (one learns to separate real from fake transitions; shapes and errors), the
 * latent classifier (fits a separable labeling, deterministically), and the feature taps
 * SemanticProbe.features / ConvVAE.encoderFeatures (shapes, values, gradient to the input).
 */
import { Tensor } from '../src/tensor/tensor';
import { tensor, randn } from '../src/tensor/creation';
import { tidy } from '../src/tensor/scope';
import { noGrad } from '../src/autograd/grad_mode';
import { useCudaEmulation, cudaEmulated, cudaStatus } from '../src/backend/cuda';
import { conv2d } from '../src/ops/conv';
import { Generator } from '../src/random/generator';
import { Adam } from '../src/optim/adam';
import * as losses from '../src/losses/index';
import { perceptualLoss, discriminatorLoss, generatorLoss, multiHeadCrossEntropy, discriminatorAccuracy } from '../src/losses/remedies';
import { SpectralNormConv2d, SpectralNormLinear, spectralNormalize } from '../src/nn/spectral_norm';
import { LatentDiscriminator, PatchDiscriminator } from '../src/models/discriminators';
import { LatentClassifier, fitLatentClassifier } from '../src/models/latent_classifier';
import { SemanticProbe } from '../src/models/semantic_probe';
import { ConvVAE } from '../src/models/conv_vae';
import type { LabelHead } from '../src/data/episode';

// ---- float64 helpers ----------------------------------------------------------------------------
const softplus = (v: number) => Math.max(v, 0) + Math.log1p(Math.exp(-Math.abs(v)));
const meanOf = (xs: ArrayLike<number>, f: (v: number, i: number) => number) => {
  let s = 0;
  for (let i = 0; i < xs.length; ++i) s += f(xs[i], i);
  return s / xs.length;
};

/** Seeded N(0,1) values, rounded to float32 (what the tensors hold). */
function values(n: number, seed: number, scale = 1): Float32Array {
  const out = new Generator(seed).fillNormal(new Float32Array(n));
  for (let i = 0; i < n; ++i) out[i] *= scale;
  return out;
}

/**
 * Central finite differences of a float64 function at x (every element), against the analytic
 * gradient `an` of the float32 implementation.
 */
function expectGradient(label: string, f: (x: Float64Array) => number, x: Float32Array, an: Float32Array, eps = 1e-6, tol = 2e-3): void {
  expect(an.length).toBe(x.length);
  const xx = Float64Array.from(x);
  const fd = new Float64Array(x.length);
  for (let j = 0; j < x.length; ++j) {
    const v = xx[j];
    xx[j] = v + eps;
    const hi = f(xx);
    xx[j] = v - eps;
    const lo = f(xx);
    xx[j] = v;
    fd[j] = (hi - lo) / (2 * eps);
  }
  let scale = 0;
  for (const v of fd) scale = Math.max(scale, Math.abs(v));
  expect(scale).toBeGreaterThan(0); // a gradient that is identically 0 proves nothing
  for (let j = 0; j < x.length; ++j)
    if (!(Math.abs(an[j] - fd[j]) <= tol * (Math.abs(fd[j]) + 0.05 * scale) + 1e-7))
      throw new Error(`${label}: d/dx[${j}] analytic ${an[j]}, float64 finite difference ${fd[j]}`);
}

function expectValue(label: string, got: number, want: number, tol = 2e-6): void {
  if (!(Math.abs(got - want) <= tol * (1 + Math.abs(want)))) throw new Error(`${label}: ${got}, float64 reference ${want}`);
}

// ---- devices ------------------------------------------------------------------------------------
function emulationAvailable(): boolean {
  const was = cudaEmulated();
  try {
    useCudaEmulation(true);
    return cudaStatus().available;
  } catch {
    return false;
  } finally {
    useCudaEmulation(was);
  }
}
const DEVICES: string[] = emulationAvailable() ? ['cpu', 'cuda'] : ['cpu'];
if (DEVICES.length === 1) console.warn('remedies_blocks: the CUDA emulation addon is missing; only the cpu column runs');
// 'cuda' is the emulation for this whole file (CPU tensors do not care); switching back would
// need every 'cuda' tensor of the suite disposed first.
if (DEVICES.includes('cuda')) useCudaEmulation(true);

/** A leaf tensor on `device` holding `data` (gradient requested). */
function leaf(data: Float32Array, shape: number[], device: string): Tensor {
  const t = tensor(data, shape);
  const d = device === 'cpu' ? t : t.to(device);
  return d.requireGrad();
}

describe.each(DEVICES)('remedy losses on %s', (device) => {
  test('perceptualLoss: mean over layers of per-layer MSE; gradient to the prediction only', () => {
    const shapes = [[2, 3, 5], [3, 7], [1, 2, 3, 3]];
    const n = shapes.map((s) => s.reduce((a, b) => a * b, 1));
    const P = shapes.map((_, i) => values(n[i], 10 + i));
    const R = shapes.map((_, i) => values(n[i], 20 + i));
    tidy(() => {
      const p = shapes.map((s, i) => leaf(P[i], s, device));
      const r = shapes.map((s, i) => leaf(R[i], s, device));
      const L = perceptualLoss(p, r);
      expect(L.shape).toEqual([]);
      expect(L.device).toBe(device);
      const ref = (ps: Float64Array[], rs: ArrayLike<number>[]) => ps.reduce((s, pi, i) => s + meanOf(pi, (v, j) => (v - rs[i][j]) ** 2), 0) / ps.length;
      expectValue('perceptualLoss', L.item(), ref(P.map((x) => Float64Array.from(x)), R));
      L.backward();
      shapes.forEach((_, i) => {
        const f = (x: Float64Array) => ref(P.map((v, k) => (k === i ? x : Float64Array.from(v))), R);
        expectGradient(`perceptualLoss d/dpred[${i}]`, f, P[i], p[i].grad!.toFloat32Array());
        // The real side is a fixed target: no gradient reaches it.
        expect(r[i].grad === null || r[i].grad!.toFloat32Array().every((v) => v === 0)).toBe(true);
      });
    });
  });

  test('discriminatorLoss = BCE(real, 1) + BCE(fake, 0); generatorLoss = BCE(fake, 1); gradients', () => {
    const Rv = values(5, 31, 2);
    const Fv = values(18, 32, 2);
    const ref = (r: ArrayLike<number>, f: ArrayLike<number>) => meanOf(r, (v) => softplus(-v)) + meanOf(f, (v) => softplus(v));
    const gref = (f: ArrayLike<number>) => meanOf(f, (v) => softplus(-v));
    tidy(() => {
      const r = leaf(Rv, [5], device);
      const f = leaf(Fv, [3, 1, 2, 3], device); // patch logits: any shape
      const D = discriminatorLoss(r, f);
      expectValue('discriminatorLoss', D.item(), ref(Rv, Fv));
      D.backward();
      expectGradient('discriminatorLoss d/dreal', (x) => ref(x, Fv), Rv, r.grad!.toFloat32Array());
      expectGradient('discriminatorLoss d/dfake', (x) => ref(Rv, x), Fv, f.grad!.toFloat32Array());
      f.zeroGrad();
      const G = generatorLoss(f);
      expectValue('generatorLoss', G.item(), gref(Fv));
      G.backward();
      expectGradient('generatorLoss d/dfake', gref, Fv, f.grad!.toFloat32Array());
      // Non-saturating: a confidently rejected fake (logit -8) still gets a gradient near -1/N.
      const low = leaf(Float32Array.of(-8, -8), [2], device);
      generatorLoss(low).backward();
      expect(Math.abs(low.grad!.toFloat32Array()[0] + 0.5)).toBeLessThan(1e-3);
    });
  });

  test('multiHeadCrossEntropy: mean of the heads\' cross-entropies, labels as Int32Array or int32 [N, heads]', () => {
    const N = 5;
    const K = [3, 4, 2];
    const L = K.map((k, h) => values(N * k, 40 + h, 1.5));
    const labels = Int32Array.from({ length: N * K.length }, (_, i) => (i * 7 + 3) % K[i % K.length]);
    const ce = (x: ArrayLike<number>, k: number, h: number) => {
      let s = 0;
      for (let r = 0; r < N; ++r) {
        let m = -Infinity;
        for (let c = 0; c < k; ++c) m = Math.max(m, x[r * k + c]);
        let z = 0;
        for (let c = 0; c < k; ++c) z += Math.exp(x[r * k + c] - m);
        s += m + Math.log(z) - x[r * k + labels[r * K.length + h]];
      }
      return s / N;
    };
    const ref = (ls: ArrayLike<number>[]) => ls.reduce((s, x, h) => s + ce(x, K[h], h), 0) / K.length;
    tidy(() => {
      const logits = K.map((k, h) => leaf(L[h], [N, k], device));
      const M = multiHeadCrossEntropy(logits, labels);
      expectValue('multiHeadCrossEntropy', M.item(), ref(L));
      // the tensor form of the labels gives the same value
      expectValue('multiHeadCrossEntropy (tensor labels)', multiHeadCrossEntropy(logits, tensor(labels, [N, K.length])).item(), ref(L));
      M.backward();
      K.forEach((_, h) => {
        const f = (x: Float64Array) => ref(L.map((v, k) => (k === h ? x : v)));
        expectGradient(`multiHeadCrossEntropy d/dlogits[${h}]`, f, L[h], logits[h].grad!.toFloat32Array());
      });
    });
  });

  test('discriminatorAccuracy counts logits on the right side of 0 (0 is wrong)', () => {
    tidy(() => {
      const r = tensor(Float32Array.of(1, -2, 0.5, 0), [4]).to(device);
      const f = tensor(Float32Array.of(-1, 2, -0.1), [3]).to(device);
      expect(discriminatorAccuracy(r, f)).toBeCloseTo(4 / 7, 12);
      expect(discriminatorAccuracy(f, r)).toBeCloseTo(2 / 7, 12); // roles swapped
    });
  });
});

describe('remedy losses: errors and exports', () => {
  test('clear errors name the function and what came', () => {
    const a = randn([2, 3]);
    expect(() => perceptualLoss([a], [a, a])).toThrow(/^perceptualLoss: predFeatures has 1 layers but realFeatures has 2/);
    expect(() => perceptualLoss([a], [randn([3, 2])])).toThrow(/^perceptualLoss: layer 0: predFeatures is \[2,3\] and realFeatures is \[3,2\]/);
    expect(() => perceptualLoss([], [])).toThrow(/^perceptualLoss: predFeatures must be a non-empty array of Tensors/);
    expect(() => multiHeadCrossEntropy([a], Int32Array.of(0))).toThrow(/^multiHeadCrossEntropy: labels must hold N \* heads = 2 \* 1 = 2 values/);
    expect(() => multiHeadCrossEntropy([a, randn([3, 2])], Int32Array.of(0, 0, 0, 0))).toThrow(/^multiHeadCrossEntropy: logits\[1\] has 3 rows but logits\[0\] has 2/);
    expect(() => multiHeadCrossEntropy([a], tensor(Int32Array.of(0, 1), [1, 2]))).toThrow(/^multiHeadCrossEntropy: labels must be \[2,1\]/);
    expect(() => discriminatorLoss(a, null as unknown as Tensor)).toThrow(/^discriminatorLoss: fakeLogits must be a Tensor, got null/);
  });

  test('the losses namespace carries the remedies beside the fused losses', () => {
    expect(losses.perceptualLoss).toBe(perceptualLoss);
    expect(losses.discriminatorAccuracy).toBe(discriminatorAccuracy);
    expect(typeof losses.bceWithLogits).toBe('function');
  });
});

// ---- spectral normalization --------------------------------------------------------------------
/** Largest singular value of a rows x cols matrix, by float64 power iteration on W^T W. */
function topSingularValue(w: ArrayLike<number>, rows: number, cols: number): number {
  let v = new Float64Array(cols).map((_, i) => 1 + Math.sin(i + 1));
  let s = 0;
  for (let it = 0; it < 3000; ++it) {
    const u = new Float64Array(rows);
    for (let r = 0; r < rows; ++r) for (let c = 0; c < cols; ++c) u[r] += w[r * cols + c] * v[c];
    const nv = new Float64Array(cols);
    for (let r = 0; r < rows; ++r) for (let c = 0; c < cols; ++c) nv[c] += w[r * cols + c] * u[r];
    const n = Math.hypot(...nv);
    s = Math.sqrt(n);
    v = nv.map((x) => x / n);
  }
  return s;
}

function normalizedTop(layer: SpectralNormConv2d | SpectralNormLinear): number {
  const w = noGrad(() => tidy(() => spectralNormalize(layer.weightOrig, layer.weightU, layer.weightV, { update: false }).toFloat32Array()));
  const rows = layer.weightOrig.shape[0];
  return topSingularValue(w, rows, w.length / rows);
}

describe.each(DEVICES)('spectral normalization on %s', (device) => {
  test("the normalized weight's largest singular value approaches 1 over training-mode forwards", () => {
    const conv = new SpectralNormConv2d(3, 5, 3, { padding: 1, seed: 3, initIterations: 0 }).to(device);
    const rows = 5, cols = 27;
    const raw = topSingularValue(conv.weightOrig.toFloat32Array(), rows, cols);
    expect(Math.abs(raw - 1)).toBeGreaterThan(0.1); // normalization has something to do
    const x = randn([2, 3, 5, 5], { seed: 4 }).to(device);
    const errs: number[] = [];
    for (let k = 0; k < 30; ++k) {
      tidy(() => conv.forward(x));
      errs.push(Math.abs(normalizedTop(conv) - 1));
    }
    expect(errs[0]).toBeGreaterThan(1e-2); // one step from a random u is still off...
    expect(errs[29]).toBeLessThan(1e-3); // ...and the estimate converges to sigma(W)
    expect(Math.abs(conv.sigma() - raw)).toBeLessThan(1e-3 * raw);
    // default: 15 power steps at construction, accurate from the first step
    const lin = new SpectralNormLinear(9, 4, { seed: 5 }).to(device);
    expect(Math.abs(normalizedTop(lin) - 1)).toBeLessThan(1e-2);
    // eval mode leaves u and v alone
    const u0 = conv.weightU.toFloat32Array();
    conv.eval();
    tidy(() => conv.forward(x));
    expect(conv.weightU.toFloat32Array()).toEqual(u0);
    x.dispose();
  });

  test('gradient of W / (u . W v) with u and v constant; the power step itself', () => {
    const shape = [3, 2, 3, 3];
    const rows = 3, cols = 18;
    const W = values(rows * cols, 61);
    const U = values(rows, 62), V = values(cols, 63);
    const seed = values(rows * cols, 64);
    tidy(() => {
      const w = leaf(W, shape, device);
      const u = tensor(U, [rows]).to(device);
      const v = tensor(V, [cols]).to(device);
      const out = spectralNormalize(w, u, v, { update: true, iterations: 1 });
      // the power step: v' = W^T u / |W^T u|, u' = W v' / |W v'|
      const v1 = new Float64Array(cols);
      for (let r = 0; r < rows; ++r) for (let c = 0; c < cols; ++c) v1[c] += W[r * cols + c] * U[r];
      const nv = Math.hypot(...v1);
      v1.forEach((x, i) => (v1[i] = x / nv));
      const u1 = new Float64Array(rows);
      for (let r = 0; r < rows; ++r) for (let c = 0; c < cols; ++c) u1[r] += W[r * cols + c] * v1[c];
      const nu = Math.hypot(...u1);
      u1.forEach((x, i) => (u1[i] = x / nu));
      const gotU = u.toFloat32Array(), gotV = v.toFloat32Array();
      u1.forEach((x, i) => expectValue(`u[${i}]`, gotU[i], x, 1e-5));
      v1.forEach((x, i) => expectValue(`v[${i}]`, gotV[i], x, 1e-5));
      // value and gradient of sum(seed * W / sigma), sigma = u' . W v' with u', v' fixed
      const ref = (x: ArrayLike<number>) => {
        let sigma = 0;
        for (let r = 0; r < rows; ++r) for (let c = 0; c < cols; ++c) sigma += gotU[r] * x[r * cols + c] * gotV[c];
        let s = 0;
        for (let i = 0; i < x.length; ++i) s += (seed[i] * x[i]) / sigma;
        return s;
      };
      const o = out.toFloat32Array();
      expectValue('sum(seed * W_sn)', o.reduce((s, x, i) => s + x * seed[i], 0), ref(W), 1e-5);
      // A second forward (the fake batch after the real one) moves u and v in place before the
      // first one's backward: that backward must still use the u and v its forward used.
      spectralNormalize(w, u, v, { update: true, iterations: 1 });
      expect(u.toFloat32Array()).not.toEqual(gotU);
      out.backward(tensor(seed, shape).to(device));
      expectGradient('d/dW', ref, W, w.grad!.toFloat32Array());
    });
  });

  test('u and v are buffers in the state dict; a reload resumes bit-identically', () => {
    const a = new SpectralNormLinear(6, 5, { seed: 9, initIterations: 0 }).to(device);
    const keys = Object.keys(a.stateDict()).sort();
    expect(keys).toEqual(['bias', 'weight_orig', 'weight_u', 'weight_v']);
    expect(a.parameters().map((p) => p.name).sort()).toEqual(['bias', 'weight_orig']); // u, v are not trained
    const x = randn([4, 6], { seed: 10 }).to(device);
    for (let k = 0; k < 3; ++k) tidy(() => a.forward(x));
    const state = Object.fromEntries(Object.entries(a.stateDict()).map(([k, t]) => [k, { shape: t.shape, data: t.toFloat32Array() }]));
    const b = new SpectralNormLinear(6, 5, { seed: 11, initIterations: 0 }).to(device);
    b.loadStateDict(state);
    const c = new SpectralNormLinear(6, 5, { seed: 11, initIterations: 0 }).to(device);
    const { weight_u: _u, weight_v: _v, ...noVectors } = state;
    c.loadStateDict(noVectors, false); // the weights alone, not the power-iteration state
    for (let k = 0; k < 2; ++k) {
      const [ya, yb, yc] = tidy(() => [a, b, c].map((m) => m.forward(x).toFloat32Array()));
      expect(yb).toEqual(ya);
      expect(yc).not.toEqual(ya); // u and v matter: without them the run is not the same
    }
    expect(b.weightU.toFloat32Array()).toEqual(a.weightU.toFloat32Array());
    x.dispose();
  });

  test('same seed, same u; a layer built on the CPU and moved runs as on the CPU', () => {
    const mk = () => new SpectralNormConv2d(4, 3, 3, { stride: 2, padding: 1, seed: 21 });
    expect(mk().weightU.toFloat32Array()).toEqual(mk().weightU.toFloat32Array());
    expect(new SpectralNormConv2d(4, 3, 3, { seed: 22 }).weightU.toFloat32Array()).not.toEqual(mk().weightU.toFloat32Array());
    const cpu = mk();
    const dev = mk().to(device);
    const xv = values(2 * 4 * 7 * 7, 23);
    const yc = tidy(() => cpu.forwardRelu(tensor(xv, [2, 4, 7, 7])).toFloat32Array());
    const yd = tidy(() => dev.forwardRelu(tensor(xv, [2, 4, 7, 7]).to(device)).toFloat32Array());
    expect(yd.length).toBe(2 * 3 * 4 * 4);
    yd.forEach((v, i) => expectValue(`y[${i}]`, v, yc[i], 1e-5));
    const uc = cpu.weightU.toFloat32Array(), ud = dev.weightU.toFloat32Array();
    ud.forEach((v, i) => expectValue(`u[${i}]`, v, uc[i], 1e-5));
    expect(dev.weightU.device).toBe(device);
  });
});

// ---- discriminators -----------------------------------------------------------------------------
describe('LatentDiscriminator', () => {
  /** Trains on real = (z, z + 0.1 noise), fake = (z, independent z'), returns held-out accuracy. */
  function separate(latentShape: number[], steps: number, fakeLikeReal = false): number {
    const d = new LatentDiscriminator({ latentShape, actionSize: 3, seed: 2 });
    const opt = new Adam(d.parameters(), { lr: 2e-4, betas: [0.5, 0.999] });
    const N = 32;
    const batch = (s: number) => {
      const zp = randn([N, ...latentShape], { seed: 3 * s + 1 });
      const a = randn([N, 3], { seed: 3 * s + 2 });
      const zr = zp.add(randn([N, ...latentShape], { seed: 3 * s + 3 }).mul(0.1));
      const zf = fakeLikeReal ? zp.add(randn([N, ...latentShape], { seed: 3 * s + 100000 }).mul(0.1)) : randn([N, ...latentShape], { seed: 3 * s + 100000 });
      return { zp, a, zr, zf };
    };
    for (let s = 0; s < steps; ++s)
      tidy(() => {
        const { zp, a, zr, zf } = batch(s);
        const loss = discriminatorLoss(d.forward(zp, zr, a), d.forward(zp, zf, a));
        opt.zeroGrad();
        loss.backward();
        opt.step();
      });
    d.eval();
    return tidy(() =>
      noGrad(() => {
        const { zp, a, zr, zf } = batch(10 ** 6); // held out
        return discriminatorAccuracy(d.forward(zp, zr, a), d.forward(zp, zf, a));
      }),
    );
  }

  test('learns to tell real transitions from random successors (> 90% held out), spatial and flat', () => {
    expect(separate([8, 4, 4], 200)).toBeGreaterThan(0.9);
    expect(separate([16], 250)).toBeGreaterThan(0.9);
  });

  test('cannot separate what is the same distribution (the accuracy above is earned)', () => {
    expect(separate([16], 250, true)).toBeLessThan(0.75);
  });

  test('shapes, gradient to the predicted latent, and clear errors', () => {
    const d = new LatentDiscriminator({ latentShape: [4, 4, 4], actionSize: 2, hidden: 8 });
    tidy(() => {
      const zp = randn([3, 4, 4, 4]);
      const zn = randn([3, 4, 4, 4]).requireGrad();
      const y = d.forward(zp, zn, randn([3, 2]));
      expect(y.shape).toEqual([3]);
      generatorLoss(y).backward();
      expect(zn.grad!.toFloat32Array().some((v) => v !== 0)).toBe(true);
      expect(() => d.forward(zp, randn([2, 4, 4, 4]), randn([3, 2]))).toThrow(/^LatentDiscriminator.forward: zNext must be \[3,4,4,4\], got \[2,4,4,4\]/);
      expect(() => d.forward(randn([3, 64]), zn, randn([3, 2]))).toThrow(/^LatentDiscriminator.forward: zPrev must be \[N,4,4,4\], got \[3,64\]/);
      expect(() => d.forward(zp, zn, null)).toThrow(/^LatentDiscriminator.forward: a must be an action Tensor \[3,2\] \(actionSize is 2\), got null/);
      expect(() => d.forward(zp, zn, randn([3, 5]))).toThrow(/^LatentDiscriminator.forward: a must be \[3,2\], got \[3,5\]/);
    });
    const flat = new LatentDiscriminator({ latentShape: [6], actionSize: 0 });
    expect(tidy(() => flat.forward(randn([5, 6]), randn([5, 6]), null).shape)).toEqual([5]);
    expect(() => new LatentDiscriminator({ latentShape: [4, 4], actionSize: 1 })).toThrow(/^LatentDiscriminator: latentShape must be \[C, h, w\] or \[D\], got an Array\(2\)/);
    expect(Object.keys(d.stateDict())).toContain('conv0.weight_u');
  });
});

describe.each(DEVICES)('PatchDiscriminator on %s', (device) => {
  test('patch logits [N,1,H/2^k,W/2^k], gradient to the images, errors', () => {
    const d = new PatchDiscriminator({ inputShape: [1, 20, 12], channels: [4, 8], seed: 3 }).to(device);
    expect(d.outputShape).toEqual([1, 5, 3]);
    tidy(() => {
      const x = leaf(values(2 * 20 * 12, 5).map((v) => 1 / (1 + Math.exp(-v))), [2, 1, 20, 12], device);
      const y = d.forward(x);
      expect(y.shape).toEqual([2, 1, 5, 3]);
      expect(y.device).toBe(device);
      generatorLoss(y).backward();
      expect(x.grad!.toFloat32Array().some((v) => v !== 0)).toBe(true);
      expect(() => d.forward(randn([2, 3, 20, 12]).to(device))).toThrow(/^PatchDiscriminator.forward: images must be \[N,1,20,12\] floats in \[0,1\], got \[2,3,20,12\]/);
    });
    expect(new PatchDiscriminator({ inputShape: [3, 64, 64] }).outputShape).toEqual([1, 8, 8]);
    expect(() => new PatchDiscriminator({ inputShape: [1, 4, 4], channels: [2, 2, 2, 2] })).toThrow(/^PatchDiscriminator: inputShape \[1,4,4\] is too small for 4 stride-2 convs/);
  });
});

// ---- latent classifier --------------------------------------------------------------------------
const HEADS: LabelHead[] = [
  { name: 'side', classes: ['left', 'right'] },
  { name: 'quadrant', classes: ['a', 'b', 'c', 'd'] },
];

/** n latents with labels that are functions of a few of their values (separable, learnable). */
function labeled(latentShape: number[], n: number, seed: number): { z: Float32Array; labels: Int32Array } {
  const D = latentShape.reduce((a, b) => a * b, 1);
  const z = values(n * D, seed);
  const labels = new Int32Array(n * 2);
  for (let i = 0; i < n; ++i) {
    const o = i * D;
    labels[2 * i] = z[o] + z[o + 1] > 0 ? 1 : 0;
    labels[2 * i + 1] = (z[o + 2] > 0 ? 2 : 0) + (z[o + D - 1] > 0 ? 1 : 0);
  }
  return { z, labels };
}

describe('LatentClassifier', () => {
  test.each([[[16]], [[8, 4, 4]]])('fits a separable labeling of %j latents, held out too, deterministically', (latentShape) => {
    const train = labeled(latentShape, 1024, 71);
    const held = labeled(latentShape, 256, 72);
    const fit = (seed: number) => {
      const clf = new LatentClassifier({ latentShape, heads: HEADS, seed: 5 });
      const r = fitLatentClassifier(clf, train.z, train.labels, { steps: 300, seed, heldOut: held });
      return { clf, r };
    };
    const chance = new LatentClassifier({ latentShape, heads: HEADS, seed: 5 }).accuracy(held.z, held.labels);
    const t0 = Date.now();
    const { clf, r } = fit(6);
    const ms = Date.now() - t0;
    expect(r.accuracy).toEqual([expect.any(Number), expect.any(Number)]);
    // Fitted: near-perfect on its training latents; held out well above chance (0.5 and 0.25),
    // short of perfect since 1024 samples of a 128-d latent leave room to overfit.
    expect({ train: r.accuracy.every((a) => a > 0.95), heldOut: r.heldOutAccuracy!.every((a) => a > 0.8), ...r }).toEqual({ train: true, heldOut: true, ...r });
    expect(chance[1]).toBeLessThan(0.5); // untrained, the 4-way head is near chance
    expect(ms).toBeLessThan(20000);
    const again = fit(6).clf;
    const other = fit(7).clf;
    const w = (m: LatentClassifier) => m.parameters().map((p) => Array.from(p.toFloat32Array()));
    expect(w(again)).toEqual(w(clf)); // same seed, same weights
    expect(w(other)).not.toEqual(w(clf));
  });

  test('forward is differentiable w.r.t. the latent; errors name what is wrong', () => {
    const clf = new LatentClassifier({ latentShape: [8, 4, 4], heads: HEADS, hidden: 16 });
    tidy(() => {
      const z = randn([3, 8, 4, 4]).requireGrad();
      const logits = clf.forward(z);
      expect(logits.map((l) => l.shape)).toEqual([[3, 2], [3, 4]]);
      multiHeadCrossEntropy(logits, Int32Array.of(0, 1, 1, 3, 0, 2)).backward();
      expect(z.grad!.toFloat32Array().some((v) => v !== 0)).toBe(true);
      expect(() => clf.forward(randn([3, 128]))).toThrow(/^LatentClassifier.forward: z must be \[N,8,4,4\], got \[3,128\]/);
    });
    const z = new Float32Array(2 * 128);
    expect(() => fitLatentClassifier(clf, z, Int32Array.of(0, 1, 1))).toThrow(/^fitLatentClassifier: labels must be an Int32Array of n x heads = 2 x 2 = 4 values/);
    expect(() => fitLatentClassifier(clf, z, Int32Array.of(0, 1, 1, 4))).toThrow(/^fitLatentClassifier: labels\[3\] \(sample 1, head 'quadrant'\) must be a class in \[0, 3\], got 4/);
    expect(() => fitLatentClassifier(clf, new Float32Array(100), Int32Array.of(0))).toThrow(/^fitLatentClassifier: z must be a non-empty Float32Array of n x 128 latent values/);
    expect(() => new LatentClassifier({ latentShape: [8], heads: [{ name: 'x', classes: ['only'] }] })).toThrow(/^LatentClassifier: heads\[0\] must be/);
  });
});

// ---- feature taps -------------------------------------------------------------------------------
describe.each(DEVICES)('feature networks of the perceptual loss on %s', (device) => {
  test('SemanticProbe.features: the trunk after each conv + ReLU, differentiable w.r.t. the input', () => {
    const probe = new SemanticProbe({ heads: HEADS, inputShape: [1, 16, 16], channels: [4, 5, 6, 7], hidden: 8 }).to(device);
    tidy(() => {
      const x = leaf(values(2 * 2 * 16 * 16, 81), [2, 2, 16, 16], device);
      const f = probe.features(x);
      expect(f.map((t) => t.shape)).toEqual([[2, 4, 8, 8], [2, 5, 4, 4], [2, 6, 2, 2], [2, 7, 1, 1]]);
      const sd = probe.stateDict();
      const f0 = conv2d(x, sd['conv0.weight'], sd['conv0.bias'], { stride: 2, padding: 1 }).relu().toFloat32Array();
      expect(f[0].toFloat32Array()).toEqual(f0);
      perceptualLoss(f, probe.features(tensor(values(2 * 2 * 16 * 16, 82), [2, 2, 16, 16]).to(device))).backward();
      expect(x.grad!.toFloat32Array().some((v) => v !== 0)).toBe(true);
      expect(() => probe.features(randn([2, 1, 16, 16]).to(device))).toThrow(/^SemanticProbe.features: x must be \[N,2,16,16\] \(see SemanticProbe.input\), got \[2,1,16,16\]/);
    });
  });

  test('ConvVAE.encoderFeatures: the encoder after each conv + ReLU; the last is what encode() reads', () => {
    const vae = new ConvVAE({ inputShape: [3, 16, 16], encoderChannels: [4, 6], latentShape: [2, 4, 4], seed: 8 }).to(device);
    tidy(() => {
      const x = leaf(values(2 * 3 * 16 * 16, 91).map((v) => 1 / (1 + Math.exp(-v))), [2, 3, 16, 16], device);
      const f = vae.encoderFeatures(x);
      expect(f.map((t) => t.shape)).toEqual([[2, 4, 8, 8], [2, 6, 4, 4]]);
      expect(f[1].toFloat32Array()).toEqual(vae.encoder.forward(x).toFloat32Array());
      f[0].sum().add(f[1].sum()).backward();
      expect(x.grad!.toFloat32Array().some((v) => v !== 0)).toBe(true);
    });
  });
});
