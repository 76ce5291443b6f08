/**
 * `worldkit bench [--filter lstm|vae|gemm|conv|data|train|...] [--json out.json]
 *                 [--device cpu|cuda] [--threads N] [--quick] [--no-peers] [--list]`
 *
 * Runs the benchmark suites (bench/*.bench.ts, compiled into dist/bench/ by `npm run build:bench`,
 * which `prepare` runs, and shipped in the package) in a child `node dist/bench/run.js <args>`, so
 * the benchmark code and its peers (TF.js, benchmark.js) are never loaded by the library itself.
 * The Python and C peers stay in the repository (skipped, with a note, where absent). See
 * bench/README.md.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { packageRoot } from '../../backend/native';
import type { Command } from '../command';
import { UsageError } from '../flags';

export const benchUsage =
  'worldkit bench [--filter lstm|vae|gemm|conv|losses|adam|data|train|scaling|tfjs|...] [--json out.json] ' +
  '[--device cpu|cuda] [--threads N] [--quick] [--no-peers] [--list]';

/** The compiled bench runner, or null when dist/bench/ was not built. */
export function benchRunner(): string | null {
  const file = path.join(packageRoot(__dirname), 'dist', 'bench', 'run.js');
  return fs.existsSync(file) ? file : null;
}

/** Runs the bench; returns its exit status. */
export function benchCommand(argv: string[]): number {
  if (argv.includes('--help') || argv.includes('-h')) {
    console.log(`usage: ${benchUsage}`);
    return 0;
  }
  const runner = benchRunner();
  if (!runner) {
    console.error('worldkit bench: dist/bench/run.js not found; build it with `npm run build:bench` (in a clone of the worldkit repository)');
    return 1;
  }
  const r = spawnSync(process.execPath, [runner, ...argv], { stdio: 'inherit', env: process.env });
  if (r.error) {
    console.error(`worldkit bench: ${r.error.message}`);
    return 1;
  }
  return r.status ?? 1;
}

/** The command as main.ts loads it: flags are checked here, then passed on to run.js. */
export const command: Command = {
  name: 'bench',
  summary: 'benchmark the kernels and training steps on this machine (vs PyTorch, OpenBLAS, TF.js where installed)',
  usage: `${benchUsage}\n\nRuns the suites under bench/ (compiled into dist/bench/) and prints one table: median time and p10-p90\nspread, throughput, % of the measured peak, and the speed-up over each peer measured in the same run. See bench/README.md.`,
  flags: [
    { name: 'filter', type: 'string', help: 'comma-separated suites (gemm, conv, lstm, lstm-kernels, losses, adam, vae, data, train, cuda, scaling, tfjs); default all' },
    { name: 'json', type: 'string', metavar: 'FILE', help: 'write the header, probes and every row as JSON' },
    { name: 'device', type: 'string', choices: ['cpu', 'cuda'], default: 'cpu', help: 'device the suites run on' },
    { name: 'threads', type: 'int', help: 'CPU threads for worldkit and the peers (default: all cores)' },
    { name: 'quick', type: 'boolean', help: 'one call per case (a smoke test, not a measurement)' },
    { name: 'no_peers', type: 'boolean', help: 'skip PyTorch, OpenBLAS and TF.js' },
    { name: 'list', type: 'boolean', help: 'list the suites and exit' },
  ],
  run({ flags, positionals }) {
    if (positionals.length) throw new UsageError(`unexpected argument ${positionals[0]}`);
    const argv: string[] = [];
    if (flags.filter) argv.push('--filter', String(flags.filter));
    if (flags.json) argv.push('--json', String(flags.json));
    if (flags.device) argv.push('--device', String(flags.device));
    if (flags.threads !== undefined) {
      if (Number(flags.threads) < 1) throw new UsageError(`--threads must be at least 1, got ${flags.threads}`);
      argv.push('--threads', String(flags.threads));
    }
    if (flags.quick) argv.push('--quick');
    if (flags.no_peers) argv.push('--no-peers');
    if (flags.list) argv.push('--list');
    return benchCommand(argv);
  },
};
