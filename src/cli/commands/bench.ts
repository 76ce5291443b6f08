/**
 * `worldkit bench [--filter lstm|vae|gemm|conv|data|train|...] [--json out.json]
 *                 [--device cpu|cuda] [--threads N] [--quick] [--no-peers] [--list]`
 *
 * Runs the benchmark suites (bench/*.bench.ts, compiled into dist-bench/ by `npm run build:bench`,
 * which `prepare` runs) in a child `node dist-bench/bench/run.js <args>`, so the benchmark code and
 * its peers (TF.js, benchmark.js) are never loaded by the library itself. See bench/README.md.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { packageRoot } from '../../backend/native';

export const benchUsage =
  'worldkit bench [--filter lstm|vae|gemm|conv|losses|adam|data|train|scaling|tfjs|...] [--json out.json] ' +
  '[--device cpu|cuda] [--threads N] [--quick] [--no-peers] [--list]';

/** The compiled bench runner, or null when dist-bench/ was not built. */
export function benchRunner(): string | null {
  const file = path.join(packageRoot(__dirname), 'dist-bench', 'bench', 'run.js');
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
    console.error('worldkit bench: dist-bench/bench/run.js not found; build it with `npm run build:bench` (in the worldkit package folder)');
    return 1;
  }
  const r = spawnSync(process.execPath, [runner, ...argv], { stdio: 'inherit', env: process.env });
  if (r.error) {
    console.error(`worldkit bench: ${r.error.message}`);
    return 1;
  }
  return r.status ?? 1;
}
