import * as wk from '../src';
import { LatentPredictor } from '../src/models/latent_predictor';
import { Adam } from '../src/optim';
import { rolloutStepwise, scheduledStepwise } from './helpers/predictor_stepwise';

const arr = (t: wk.Tensor) => Array.from(t.toFloat32Array());

describe('LatentPredictor', () => {
  const mk = (o: Partial<ConstructorParameters<typeof LatentPredictor>[0]> = {}) =>
    new LatentPredictor({ latentShape: [2, 3], actionSize: 3, hiddenSize: 8, numLayers: 2, seed: 7, ...o });

  test('shapes and parameter names', () => {
    const m = mk();
    expect(Object.keys(m.stateDict())).toEqual([
      'lstm.weight_ih_l0', 'lstm.weight_hh_l0', 'lstm.bias_ih_l0', 'lstm.bias_hh_l0',
      'lstm.weight_ih_l1', 'lstm.weight_hh_l1', 'lstm.bias_ih_l1', 'lstm.bias_hh_l1', 'head.weight', 'head.bias',
    ]);
    expect(m.stateDict()['lstm.weight_ih_l0'].shape).toEqual([32, 9]);
    const z = wk.randn([4, 5, 2, 3], { seed: 1 });
    const a = wk.randn([4, 5, 3], { seed: 2 });
    expect(m.forwardTeacherForced(z, a).shape).toEqual([4, 4, 2, 3]);
    expect(m.forwardScheduled(z, a, 0.5).shape).toEqual([4, 4, 2, 3]);
    expect(m.rollout(z.slice([0, 0, 0, 0], [4, 2, 2, 3]), a, 3).shape).toEqual([4, 3, 2, 3]);
  });

  test('scheduled sampling: pTrue=1 is teacher forcing exactly, pTrue=0 is the open-loop rollout', () => {
    const m = mk();
    const z = wk.randn([3, 6, 2, 3], { seed: 3 });
    const a = wk.randn([3, 6, 3], { seed: 4 });
    expect(arr(m.forwardScheduled(z, a, 1))).toEqual(arr(m.forwardTeacherForced(z, a)));
    const open = m.forwardScheduled(z, a, 0);
    const roll = m.rollout(z.slice([0, 0, 0, 0], [3, 1, 2, 3]), a, 5);
    expect(arr(open)).toEqual(arr(roll));
  });

  test('burnIn k: the first k inputs are always the true latents (pTrue 0: only the burn-in sees the truth)', () => {
    const m = mk();
    m.eval();
    const B = 3, T = 7, D = 6;
    const z = wk.randn([B, T, 2, 3], { seed: 13 });
    const a = wk.randn([B, T, 3], { seed: 14 });
    const zf = z.reshape(B, T, D);
    for (const k of [2, 4]) {
      // Expected: predictions of steps 1..k-1 from true inputs (teacher forcing), then the
      // open-loop rollout from the true context z[0..k-1] for steps k..T-1.
      const tf = m.forwardTeacherForced(z, a).reshape(B, T - 1, D).toFloat32Array();
      const roll = m.rollout(z.slice([0, 0, 0, 0], [B, k, 2, 3]), a, T - k).reshape(B, T - k, D).toFloat32Array();
      const expected = new Float32Array(B * (T - 1) * D);
      for (let b = 0; b < B; ++b) {
        expected.set(tf.subarray(b * (T - 1) * D, (b * (T - 1) + k - 1) * D), b * (T - 1) * D);
        expected.set(roll.subarray(b * (T - k) * D, (b + 1) * (T - k) * D), (b * (T - 1) + k - 1) * D);
      }
      const got = m.forwardScheduled(z, a, 0, new wk.Generator(1), k).toFloat32Array();
      for (let i = 0; i < got.length; ++i) expect(Math.abs(got[i] - expected[i])).toBeLessThan(1e-5);
      // through the loss: the latent MSE of exactly those predictions
      const target = zf.slice([0, 1, 0], [B, T - 1, D]).toFloat32Array();
      let mse = 0;
      for (let i = 0; i < target.length; ++i) mse += (expected[i] - target[i]) ** 2;
      mse /= target.length;
      const loss = m.loss(z, a, { pTrue: 0, burnIn: k, rng: new wk.Generator(1) }).item();
      expect(Math.abs(loss - mse)).toBeLessThan(1e-5 * Math.max(1, mse));
      // and it is not the burn-in-free open loop (the burn-in changed what the model was fed)
      expect(Math.abs(loss - m.loss(z, a, { pTrue: 0, rng: new wk.Generator(1) }).item())).toBeGreaterThan(1e-4);
    }
    expect(() => m.loss(z, a, { pTrue: 0.5, burnIn: -1 })).toThrow(/LatentPredictor.loss: opts.burnIn must be an integer in \[0,/);
    expect(() => m.forwardScheduled(z, a, 0.5, undefined, 1.5)).toThrow(/LatentPredictor.forwardScheduled: burnIn must be an integer/);
  });

  test('burnIn = T-1 is teacher forcing exactly (training mode, noise and jitter too); burnIn 0/1 change nothing and every burnIn draws the same coins', () => {
    const B = 4, T = 6;
    const z = wk.randn([B, T, 2, 3], { seed: 15 });
    const a = wk.randn([B, T, 3], { seed: 16 });
    const train = () => {
      const m = mk({ inputNoiseStd: 0.02, targetJitterScale: 0.01 });
      m.train();
      return m;
    };
    const tf = train().loss(z, a).item();
    expect(train().loss(z, a, { pTrue: 0, burnIn: T - 1, rng: new wk.Generator(2) }).item()).toBe(tf);
    expect(train().loss(z, a, { pTrue: 0.3, burnIn: T + 5, rng: new wk.Generator(2) }).item()).toBe(tf);
    const states: string[] = [];
    const losses = [undefined, 0, 1].map((k) => {
      const rng = new wk.Generator(3);
      const l = train().loss(z, a, { pTrue: 0.4, rng, ...(k === undefined ? {} : { burnIn: k }) }).item();
      states.push(JSON.stringify(rng.state()));
      return l;
    });
    expect(losses[1]).toBe(losses[0]);
    expect(losses[2]).toBe(losses[0]);
    const rng = new wk.Generator(3);
    train().loss(z, a, { pTrue: 0.4, rng, burnIn: 3 });
    states.push(JSON.stringify(rng.state()));
    expect(new Set(states).size).toBe(1);
  });

  test('scheduled sampling with mixed coins matches a hand-made mix; the gradient flows through predictions', () => {
    const m = mk({ numLayers: 1 });
    const B = 4, T = 5;
    const z = wk.randn([B, T, 2, 3], { seed: 5 });
    const a = wk.randn([B, T, 3], { seed: 6 });
    const rng = new wk.Generator(11);
    const coins = new Float32Array(B * (T - 2));
    new wk.Generator(11).fillBernoulli(coins, 0.5);
    expect(coins.some((c) => c === 0) && coins.some((c) => c === 1)).toBe(true);
    const out = m.forwardScheduled(z, a, 0.5, rng);
    // Reference: per sample, the same model run one sample at a time through the teacher-forced path
    // on a sequence built from the chosen inputs step by step.
    const zf = z.reshape(B, T, 6).toFloat32Array();
    const of = out.reshape(B, T - 1, 6).toFloat32Array();
    for (let b = 0; b < B; ++b) {
      const seq = new Float32Array(T * 6);
      seq.set(zf.subarray(b * T * 6, b * T * 6 + 6), 0);
      for (let t = 1; t < T - 1; ++t) {
        const useTrue = coins[(t - 1) * B + b] === 1;
        seq.set(useTrue ? zf.subarray((b * T + t) * 6, (b * T + t + 1) * 6) : of.subarray((b * (T - 1) + t - 1) * 6, (b * (T - 1) + t) * 6), t * 6);
      }
      const ab = a.slice([b, 0, 0], [1, T, 3]);
      const tf = m.forwardTeacherForced(wk.tensor(seq, [1, T, 6]), ab).toFloat32Array();
      const mine = of.subarray(b * (T - 1) * 6, (b + 1) * (T - 1) * 6);
      for (let i = 0; i < tf.length; ++i) expect(Math.abs(tf[i] - mine[i])).toBeLessThan(1e-5);
    }
    // Gradient flows through own predictions: with pTrue=0 the loss depends on z only via z[:,0] and targets.
    const zr = wk.randn([2, 4, 2, 3], { seed: 8 }).requireGrad();
    const loss = m.forwardScheduled(zr, wk.randn([2, 4, 3], { seed: 9 }), 0).sum();
    loss.backward();
    const g = zr.grad!.reshape(2, 4, 6).toFloat32Array();
    expect(Math.max(...Array.from(g.subarray(0, 6)).map(Math.abs))).toBeGreaterThan(0);
    expect(Math.max(...Array.from(g.subarray(6, 24)).map(Math.abs))).toBe(0);
  });

  test.each([[1, true], [2, true], [2, false]])('fused scheduled unroll equals the per-step recorded ops (layers=%i, residual=%s): values and gradients', (numLayers, residual) => {
    const B = 3, T = 5;
    const m = mk({ numLayers, residual });
    const z = wk.randn([B, T, 2, 3], { seed: 21 }).requireGrad();
    const a = wk.randn([B, T, 3], { seed: 22 });
    const coins = new Float32Array(B * (T - 2));
    new wk.Generator(5).fillBernoulli(coins, 0.5);
    const fused = m.forwardScheduled(z, a, 0.5, new wk.Generator(5));
    const seed = wk.randn(fused.shape, { seed: 23 });
    fused.backward(seed);
    const g1 = m.parameters().map((p) => p.grad!.toFloat32Array());
    const gz1 = z.grad!.toFloat32Array();
    m.zeroGrad();
    z.zeroGrad();
    const step = scheduledStepwise(m, z, a, coins);
    expect(Math.max(...arr(fused).map((v, i) => Math.abs(v - arr(step)[i])))).toBeLessThan(1e-5);
    step.backward(seed);
    m.parameters().forEach((p, k) => {
      const g2 = p.grad!.toFloat32Array();
      const scale = Math.max(1e-6, ...Array.from(g2).map(Math.abs));
      for (let i = 0; i < g2.length; ++i) expect(Math.abs(g1[k][i] - g2[i]) / scale).toBeLessThan(1e-4);
    });
    const gz2 = z.grad!.toFloat32Array();
    const sz = Math.max(...Array.from(gz2).map(Math.abs));
    for (let i = 0; i < gz2.length; ++i) expect(Math.abs(gz1[i] - gz2[i]) / sz).toBeLessThan(1e-4);
  });

  test.each([
    [1, true, true, 1, 1, 5],
    [2, true, true, 7, 3, 6],
    [2, false, true, 3, 2, 4],
    [1, true, false, 2, 1, 3],
    [3, true, true, 4, 2, 1],
  ])('fused native rollout equals the step-by-step cell path bit for bit (layers=%i, residual=%s, actions=%s, B=%i, C=%i, horizon=%i)', (numLayers, residual, useActions, B, C, horizon) => {
    const m = mk({ numLayers, residual, useActions, hiddenSize: 13 });
    const z = wk.randn([B, C, 2, 3], { seed: 31 + B });
    // Actions longer than needed: the fused path reads them in place with the row stride.
    const a = wk.randn([B, C + horizon + 2, 3], { seed: 32 + C });
    const fused = m.rollout(z, a, horizon);
    const step = rolloutStepwise(m, z, a, horizon);
    expect(fused.shape).toEqual([B, horizon, 2, 3]);
    expect(arr(fused)).toEqual(arr(step));
    expect(arr(fused).some((v) => v !== 0)).toBe(true);
  });

  test.each([
    // [layers, residual, hidden, B, latent]: B = 16..32 takes the GEMM's panels path, with the
    // weights prepared once per rollout; hidden 64 (a multiple of every panel width) also takes
    // the fused step (one parallel region per layer); hidden 13 does not. Latent 100 leaves a
    // ragged last head panel.
    [1, true, 64, 17, [4, 5, 5]],
    [2, false, 64, 24, [2, 3]],
    [1, true, 13, 20, [4, 5, 5]],
    [2, true, 32, 32, [4, 5, 5]],
  ] as [number, boolean, number, number, number[]][])('rollout with prepared weights (layers=%i, residual=%s, hidden=%i, B=%i): the step-by-step bits on every ISA and thread count', (numLayers, residual, hiddenSize, B, latentShape) => {
    const { native } = require('../src/backend/native');
    const m = new LatentPredictor({ latentShape, actionSize: 3, hiddenSize, numLayers, residual, seed: 5 });
    const z = wk.randn([B, 2, ...latentShape], { seed: 41 + B });
    const a = wk.randn([B, 9, 3], { seed: 42 });
    try {
      for (const isa of ['avx512', 'avx2', 'portable'])
        for (const threads of [1, 2]) {
          native.setIsaCap(isa);
          native.setNumThreads(threads);
          const fused = arr(m.rollout(z, a, 5));
          expect(fused).toEqual(arr(rolloutStepwise(m, z, a, 5)));
          expect(fused.some((v) => v !== 0)).toBe(true);
        }
    } finally {
      native.setIsaCap('avx512');
      native.setNumThreads(2);
    }
  });

  test('lstmRolloutForward rejects bad buffers without crashing', () => {
    const native = require('../src/backend/native').native;
    const B = 2, D = 3, A = 1, H = 2, S = 2;
    const layer = [new Float32Array(4 * H * (D + A)), new Float32Array(4 * H * H), null, null];
    const args = () => [[layer], new Float32Array(D * H), null, new Float32Array(B * H), new Float32Array(B * H),
      new Float32Array(B * D), new Float32Array(B * S * A), B, D, A, H, S, true, S * A, new Float32Array(B * S * D)];
    expect(() => native.lstmRolloutForward(...args())).not.toThrow();
    const bad = (i: number, v: unknown, re: RegExp) => {
      const x = args();
      x[i] = v as never;
      expect(() => native.lstmRolloutForward(...x)).toThrow(re);
    };
    bad(0, [[new Float32Array(5), layer[1], null, null]], /lstmRolloutForward: layers\[0\].weight_ih must be 32 elements/);
    bad(0, [], /layers must hold/);
    bad(6, new Float32Array(B * S * A - 1), /lstmRolloutForward: actions must be at least 4 elements/);
    bad(6, null, /actions are required/);
    bad(13, 1, /actionRowStride must be >= S\*A/);
    bad(14, new Float32Array(3), /lstmRolloutForward: out must be 12 elements/);
  });

  test('training noise is seeded and only in training mode', () => {
    const z = wk.randn([2, 4, 2, 3], { seed: 1 });
    const a = wk.randn([2, 4, 3], { seed: 2 });
    const m1 = mk({ inputNoiseStd: 0.1, targetJitterScale: 0.05 });
    const m2 = mk({ inputNoiseStd: 0.1, targetJitterScale: 0.05 });
    const l1 = m1.loss(z, a).item(), l2 = m2.loss(z, a).item();
    expect(l1).toBe(l2);
    const clean = mk();
    expect(m1.loss(z, a).item()).not.toBe(clean.loss(z, a).item());
    m1.eval();
    clean.eval();
    expect(m1.loss(z, a).item()).toBe(clean.loss(z, a).item());
  });

  test('bad inputs give clear errors', () => {
    const m = mk();
    const a = wk.zeros([2, 4, 3]);
    expect(() => m.forwardTeacherForced(wk.zeros([2, 4, 5]), a)).toThrow(
      'LatentPredictor.forwardTeacherForced: z must be [B,T,2,3] (latent [2,3]), got [2,4,5]',
    );
    expect(() => m.forwardTeacherForced(wk.zeros([2, 1, 2, 3]), a)).toThrow(/needs at least 2 time steps \(T >= 2\), got T=1/);
    expect(() => m.forwardTeacherForced(wk.zeros([2, 4, 2, 3]), wk.zeros([3, 4, 3]))).toThrow(/batch sizes differ: z has B=2 but a has B=3/);
    expect(() => m.forwardTeacherForced(wk.zeros([2, 4, 2, 3]), wk.zeros([2, 4, 2]))).toThrow(/a must be \[B,T,3\] \(actionSize 3\), got \[2,4,2\]/);
    expect(() => m.forwardTeacherForced(wk.zeros([2, 4, 2, 3]))).toThrow(/a must be a Tensor \[B,T,3\] of actions/);
    expect(() => m.forwardScheduled(wk.zeros([2, 4, 2, 3]), a, 1.5)).toThrow(/pTrue must be in \[0, 1\]/);
    expect(() => m.rollout(wk.zeros([2, 2, 2, 3]), wk.zeros([2, 3, 3]), 4)).toThrow(/a needs at least 5 time steps/);
    expect(() => new LatentPredictor({ actionSize: 3 } as never)).toThrow(/latentShape or latentSize/);
    const noAct = new LatentPredictor({ latentSize: 6, actionSize: 3, useActions: false, hiddenSize: 4 });
    expect(noAct.forwardTeacherForced(wk.zeros([2, 3, 6])).shape).toEqual([2, 2, 6]);
  });

  test('learns a linear latent dynamic with actions: loss falls 100x and beats copy-last-latent', () => {
    // z_{t+1} = A z_t + Bm a_t with a contraction A, D=6, 2 actions.
    const D = 6, NA = 2, B = 16, T = 8;
    const g = new wk.Generator(123);
    const Am = new Float32Array(D * D), Bm = new Float32Array(D * NA);
    g.fillUniform(Am, -0.25, 0.25);
    for (let i = 0; i < D; ++i) Am[i * D + i] += 0.5;
    g.fillUniform(Bm, -0.5, 0.5);
    const batch = () => {
      const z = new Float32Array(B * T * D), a = new Float32Array(B * T * NA);
      g.fillUniform(a, -1, 1);
      for (let b = 0; b < B; ++b) {
        const z0 = new Float32Array(D);
        g.fillUniform(z0, -1, 1);
        z.set(z0, b * T * D);
        for (let t = 1; t < T; ++t)
          for (let i = 0; i < D; ++i) {
            let s = 0;
            for (let k = 0; k < D; ++k) s += Am[i * D + k] * z[(b * T + t - 1) * D + k];
            for (let k = 0; k < NA; ++k) s += Bm[i * NA + k] * a[(b * T + t - 1) * NA + k];
            z[(b * T + t) * D + i] = s;
          }
      }
      return { z: wk.tensor(z, [B, T, D]), a: wk.tensor(a, [B, T, NA]) };
    };
    const m = new LatentPredictor({ latentSize: D, actionSize: NA, hiddenSize: 32, seed: 1 });
    const opt = new Adam(m, { lr: 3e-3 });
    const val = batch();
    const evalLoss = () => wk.noGrad(() => m.loss(val.z, val.a).item());
    const first = evalLoss();
    for (let step = 0; step < 1500; ++step) {
      wk.tidy(() => {
        const { z, a } = batch();
        opt.zeroGrad();
        m.loss(z, a).backward();
        opt.step();
      });
    }
    const last = evalLoss();
    // copy-last-latent baseline: predict z_{t+1} = z_t
    const zv = val.z.toFloat32Array();
    let copy = 0;
    for (let b = 0; b < B; ++b) for (let t = 1; t < T; ++t) for (let i = 0; i < D; ++i) copy += (zv[(b * T + t) * D + i] - zv[(b * T + t - 1) * D + i]) ** 2;
    copy /= B * (T - 1) * D;
    expect(last).toBeLessThan(first / 100);
    expect(last).toBeLessThan(copy / 100);
  });
});
