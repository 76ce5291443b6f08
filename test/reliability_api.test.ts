/**
 * Reliability, API side: every case of test/reliability_api_cases.ts runs in a child process and
 * must end in a clear, typed error naming the function and the argument: no abort (V8 heap
 * limit, native crash), no hang (a per-case time limit), no silent success.
 */
import { spawn } from 'child_process';
import * as path from 'path';
import { CASES } from './reliability_api_cases';

const RUNNER = path.resolve(__dirname, 'helpers', 'api_case_runner.js');
const CASE_LIMIT_MS = 20000; // far above any case's real time (< 1 s); a hang is a failure
type Outcome = { threw: boolean; name?: string; message?: string } | { crashed: string } | { hung: true };

/** Runs cases [from, CASES.length) in one child; returns the outcomes it reached and where it stopped. */
function runFrom(from: number, out: Map<number, Outcome>): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--max-old-space-size=512', RUNNER, String(from)], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, WORLDKIT_NUM_THREADS: '1' } });
    let current = from;
    let buf = '';
    let err = '';
    let timer: NodeJS.Timeout | null = null;
    const arm = () => {
      if (timer) clearTimeout(timer);
      timer = setTimeout(() => {
        out.set(current, { hung: true });
        child.kill('SIGKILL');
      }, CASE_LIMIT_MS);
    };
    arm();
    child.stdout!.on('data', (d) => {
      buf += d;
      let nl;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        const m = /^(START|RESULT) (\d+) ?(.*)$/.exec(line);
        if (!m) continue;
        current = Number(m[2]);
        if (m[1] === 'RESULT') out.set(current, JSON.parse(m[3]));
        arm();
      }
    });
    child.stderr!.on('data', (d) => (err = (err + d).slice(-2000)));
    child.on('exit', (code, signal) => {
      if (timer) clearTimeout(timer);
      if (!out.has(current)) out.set(current, { crashed: `exit ${code} ${signal ?? ''} ${err.slice(-300)}` });
      resolve(current + 1);
    });
  });
}

test('bad API inputs: a typed error naming function and argument; no abort, no hang', async () => {
  const out = new Map<number, Outcome>();
  let next = 0;
  while (next < CASES.length) next = Math.max(next + 1, await runFrom(next, out));
  const failures: string[] = [];
  CASES.forEach((c, i) => {
    const o = out.get(i);
    if (!o) failures.push(`${c.name}: no result`);
    else if ('hung' in o) failures.push(`${c.name}: hung (over ${CASE_LIMIT_MS} ms)`);
    else if ('crashed' in o) failures.push(`${c.name}: the process died: ${o.crashed}`);
    else if (!o.threw) failures.push(`${c.name}: no error`);
    else if (o.name !== c.error) failures.push(`${c.name}: ${o.name} instead of ${c.error}: ${o.message}`);
    else for (const re of c.match) if (!re.test(o.message ?? '')) failures.push(`${c.name}: message does not match ${re}: ${o.message}`);
  });
  expect(failures).toEqual([]);
}, 120000);
