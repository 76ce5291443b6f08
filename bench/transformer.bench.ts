/**
 * The Transformer predictor (src/models/latent_transformer.ts) at the demo's shapes: latent
 * [64,4,4] (16 tokens of 64 values) + an action token of 3 values, width 128, 2 blocks, 4 heads,
 * windows of 16 latents (15 input frames, 255 tokens), B=16. Rows:
 *   train step, teacher forcing        forward, backward, Adam: one parallel pass
 *   train step, scheduled sampling 0.5 the frame-by-frame path with the key/value cache
 *   rollout 16 steps                   context 1 frame, then one token block per imagined frame
 * The PyTorch peer (bench/peers/torch_transformer.py) builds the same model from
 * nn.TransformerEncoderLayer (pre-norm, GELU, batch_first) with a block-causal mask: its teacher
 * forcing is one pass; its scheduled sampling and rollout run twice, re-running the encoder over
 * the frames so far (nn.TransformerEncoder has no key/value cache) and with a hand-written
 * key/value cache, so both rows are compared with PyTorch at its best. Without torch the rows
 * carry a note and no ratio.
 *
 *   node -r ./test/helpers/ts_register.js bench/transformer.bench.ts [--quick] [--no-peers]
 */
import * as wk from '../src';
import { LatentTransformer } from '../src/models/latent_transformer';
import { Adam } from '../src/optim';
import { BenchRow, SuiteOptions, addPeer, measure, row, runPythonPeer, torchVersion } from './harness';

export const TRANSFORMER_BENCH_SHAPE = { B: 16, T: 16, C: 64, S: 16, A: 3, d: 128, layers: 2, heads: 4 };

export function transformerBench(opts: SuiteOptions): BenchRow[] {
  const { B, T, C, S, A, d, layers, heads } = TRANSFORMER_BENCH_SHAPE;
  const model = new LatentTransformer({ latentShape: [C, 4, 4], actionSize: A, hiddenSize: d, numLayers: layers, numHeads: heads, maxFrames: 32, seed: 1 });
  const opt = new Adam(model, { lr: 1e-4 });
  const z = wk.randn([B, T, C, 4, 4], { seed: 2 });
  const a = wk.randn([B, T + 16, A], { seed: 3 });
  const gen = new wk.Generator(4);
  const shape = `B=${B} T=${T} latent ${C}x${S} width ${d} ${layers} blocks ${heads} heads`;
  const rows: BenchRow[] = [];
  const byId = new Map<string, BenchRow>();
  const step = (pTrue: number) => () =>
    wk.tidy(() => {
      opt.zeroGrad();
      model.loss(z, a.slice([0, 0, 0], [B, T, A]), { pTrue, rng: gen }).backward();
      opt.step();
    });
  for (const [id, op, pTrue] of [['teacher', 'Transformer predictor train step, teacher forcing', 1], ['scheduled', 'Transformer predictor train step, scheduled sampling p=0.5 (KV cache)', 0.5]] as const) {
    const t = measure(op, step(pTrue), { quick: opts.quick });
    const r = row('transformer', op, shape, t, { items: B * (T - 1) });
    rows.push(r);
    byId.set(id, r);
  }
  model.eval();
  const ctx = z.slice([0, 0, 0, 0, 0], [B, 1, C, 4, 4]);
  const t = measure('rollout', () => wk.tidy(() => void model.rollout(ctx, a, 16)), { quick: opts.quick });
  const r = row('transformer', 'Transformer predictor rollout 16 steps (KV cache)', `B=${B} context 1 width ${d} ${layers} blocks ${heads} heads`, t, { items: B * 16 });
  rows.push(r);
  byId.set('rollout', r);
  model.dispose();
  opt.disposeState();
  if (opts.peers) {
    if (!torchVersion()) {
      opts.log('PyTorch peer torch_transformer.py skipped: torch not installed');
      for (const x of rows) x.note = 'PyTorch peer skipped: torch not installed';
    } else {
      const args = ['--threads', String(opts.threads), ...(opts.quick ? ['--quick'] : [])];
      for (const res of runPythonPeer('torch_transformer.py', args, opts.threads, TRANSFORMER_BENCH_SHAPE, opts.log)) {
        const target = byId.get(String(res.id));
        if (!target) continue;
        if (typeof res.ms === 'number') addPeer(target, `PyTorch ${String(res.variant ?? res.id)}`, res.ms);
        else if (res.error) target.note = `PyTorch: ${String(res.error).slice(0, 80)}`;
      }
    }
  }
  return rows;
}

if (require.main === module) {
  const threads = Number(process.env.WORLDKIT_NUM_THREADS) || require('os').cpus().length;
  const rows = transformerBench({ quick: process.argv.includes('--quick'), threads, device: 'cpu', peers: !process.argv.includes('--no-peers'), log: console.log });
  for (const r of rows) {
    const peer = (r.peers ?? []).map((p) => `${p.peer} ${p.ms.toFixed(2)} ms (${p.ratio.toFixed(2)}x)`).join('; ');
    console.log(`${r.op} | ${r.shape} | ${r.ms.toFixed(2)} ms${peer ? ' | ' + peer : ''}${r.note ? ' | ' + r.note : ''}`);
  }
}
