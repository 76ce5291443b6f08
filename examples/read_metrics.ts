/**
 * Read a training run's metrics log (JSON lines) and summarise it: loss per epoch, the best
 * validation epoch, and an SVG chart of the batch losses.
 *
 *   npx ts-node examples/read_metrics.ts runs/demo/predictor/metrics.jsonl
 */
import * as fs from 'fs';
import * as wk from '../src/index';

export function main(file = 'runs/demo/predictor/metrics.jsonl', chart = file.replace(/\.jsonl$/, '') + '_loss.svg') {
  const records = wk.train.readMetricsLog(file);
  const batches = records.filter((r) => r.kind === 'batch');
  const epochs = records.filter((r) => r.kind === 'epoch');
  for (const e of epochs) console.log(`epoch ${e.epoch}: train ${Number(e.loss).toExponential(3)}  val ${Number(e.valLoss).toExponential(3)}  lr ${Number(e.lr).toExponential(2)}`);
  const best = epochs.reduce((b, e) => (Number(e.valLoss) < Number(b?.valLoss ?? Infinity) ? e : b), epochs[0]);
  fs.writeFileSync(chart, wk.diagnostics.lineChartSvg({ title: 'batch loss', xLabel: 'step', yLabel: 'loss', logY: true, series: [{ name: 'loss', values: batches.map((b) => Number(b.loss)) }] }));
  return { batches: batches.length, epochs: epochs.length, bestEpoch: best ? Number(best.epoch) : null, chart };
}

if (require.main === module) console.log(main(process.argv[2]));
