/**
 * Ctrl-C during `worldkit train-vae`: the real process gets SIGINT, saves a checkpoint after
 * the current batch, exits with 130, and `--resume` picks the run up from that checkpoint.
 */
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { loadCheckpoint, latestCheckpoint } from '../src/train/checkpoint';

const CLI = ['-r', path.resolve('test/helpers/ts_register.js'), path.resolve('src/cli/main.ts')];
const TRAIN = ['train-vae', '--data', 'sim', '--episodes', '2', '--steps', '48', '--batch_size', '8', '--encoder_channels', '4,8,8,8', '--latent_channels', '4', '--seed', '3'];

function runCli(args: string[], onStdout?: (text: string, child: ReturnType<typeof spawn>) => void) {
  const child = spawn(process.execPath, [...CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, WORLDKIT_CACHE: path.join(os.tmpdir(), 'wk-int-cache') } });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d) => {
    out += d;
    onStdout?.(out, child);
  });
  child.stderr!.on('data', (d) => (err += d));
  return new Promise<{ code: number | null; out: string; err: string }>((resolve) => child.on('exit', (code) => resolve({ code, out, err })));
}

test('SIGINT saves a checkpoint and exits cleanly; --resume continues from it', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wk-sigint-'));
  let sent = false;
  const first = await runCli([...TRAIN, '--epochs', '1000', '--out', dir], (text, child) => {
    // Interrupt once the first epoch has finished, i.e. mid-run.
    if (!sent && /epoch 1\/1000/.test(text)) {
      sent = true;
      child.kill('SIGINT');
    }
  });
  expect(sent).toBe(true);
  expect(first.code).toBe(130); // the shell convention for a run ended by Ctrl-C, after the save
  expect(first.err).toMatch(/interrupt: saving a checkpoint/);
  const ck = latestCheckpoint(dir);
  expect(ck).not.toBeNull();
  const state = loadCheckpoint(dir);
  const stoppedAt = state.step;
  const stoppedEpoch = state.epoch;
  expect(stoppedAt).toBeGreaterThan(0);
  expect(state.epoch).toBeLessThan(1000);
  state.dispose();

  const second = await runCli([...TRAIN, '--epochs', String(stoppedEpoch + 2), '--out', dir, '--resume']);
  expect(second.code).toBe(0);
  const resumed = loadCheckpoint(dir);
  expect(resumed.step).toBeGreaterThan(stoppedAt);
  resumed.dispose();
  fs.rmSync(dir, { recursive: true, force: true });
}, 180000);
