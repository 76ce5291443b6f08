import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { main } from '../src/cli/main';
import { parseFlags, UsageError, FlagSpec } from '../src/cli/flags';
import { decodePNG } from '../src/io/png';

async function run(argv: string[]) {
  const out: string[] = [], err: string[] = [];
  const code = await main(argv, { out: (s) => out.push(s), err: (s) => err.push(s), isTTY: false });
  return { code, out: out.join('\n'), err: err.join('\n'), errLines: err };
}

describe('flags', () => {
  const specs: FlagSpec[] = [
    { name: 'batch_size', type: 'int', default: 4, help: '' },
    { name: 'lr', type: 'number', help: '' },
    { name: 'use_actions', type: 'boolean', default: false, help: '' },
    { name: 'lr_schedule', type: 'string', choices: ['cosine', 'step', 'constant'], help: '' },
  ];
  test('snake_case and kebab-case, =value, booleans, positionals', () => {
    expect(parseFlags(['--batch_size', '8'], specs).flags.batch_size).toBe(8);
    expect(parseFlags(['--batch-size', '8'], specs).flags.batch_size).toBe(8);
    expect(parseFlags(['--batch-size=16', '--lr', '1e-4'], specs).flags).toMatchObject({ batch_size: 16, lr: 1e-4 });
    expect(parseFlags(['--use_actions'], specs).flags.use_actions).toBe(true);
    expect(parseFlags(['--use-actions=false'], specs).flags.use_actions).toBe(false);
    expect(parseFlags(['--use_actions', '--no-use-actions'], specs).flags.use_actions).toBe(false);
    expect(parseFlags(['sim', '--lr', '-0.5', 'x'], specs)).toMatchObject({ positionals: ['sim', 'x'], flags: { lr: -0.5, batch_size: 4 } });
    expect(parseFlags(['--help'], specs).help).toBe(true);
  });
  test('mistakes are UsageErrors with one clear message', () => {
    expect(() => parseFlags(['--batch_sise', '3'], specs)).toThrow(UsageError);
    expect(() => parseFlags(['--batch_size', 'x'], specs)).toThrow(/--batch_size expects an integer, got 'x'/);
    expect(() => parseFlags(['--lr'], specs)).toThrow(/--lr needs a value/);
    expect(() => parseFlags(['--lr_schedule', 'linear'], specs)).toThrow(/must be one of cosine, step, constant/);
  });
});

describe('flags through util.parseArgs (issue 16)', () => {
  const specs: FlagSpec[] = [
    { name: 'batch_size', type: 'int', default: 4, help: 'examples per step' },
    { name: 'hidden_size', type: 'int', default: 256, help: 'LSTM width' },
    { name: 'use_actions', type: 'boolean', default: false, help: 'feed actions' },
    { name: 'no_cache', type: 'boolean', help: 'skip the cache' },
  ];
  test('spellings, switches with values, numbers as positionals, the -- terminator', () => {
    expect(parseFlags(['--Batch-Size=16', '--use_actions', 'false', '-3', '--', '--hidden_size', '8'], specs)).toMatchObject({
      flags: { batch_size: 16, use_actions: false, hidden_size: 256 },
      positionals: ['-3', '--hidden_size', '8'],
    });
    expect(parseFlags(['--no-cache'], specs).flags.no_cache).toBe(true);
    expect(parseFlags(['-h'], specs).help).toBe(true);
    expect(parseFlags(['--hidden-size', '64'], specs).given).toEqual(['hidden_size']);
  });
  test('"did you mean" for near names and typos; other mistakes keep their messages', () => {
    expect(() => parseFlags(['--batch_sise', '3'], specs)).toThrow("unknown flag '--batch_sise' (did you mean --batch_size?)");
    expect(() => parseFlags(['--hidden', '3'], specs)).toThrow("unknown flag '--hidden' (did you mean --hidden_size?)");
    expect(() => parseFlags(['--zzz'], specs)).toThrow("unknown flag '--zzz'");
    expect(() => parseFlags(['-x'], specs)).toThrow("unknown option '-x' (flags start with --)");
    expect(() => parseFlags(['--batch_size', '--hidden_size', '3'], specs)).toThrow('--batch_size needs a value');
    expect(() => parseFlags(['--no-use-actions=1'], specs)).toThrow('--no_use_actions takes no value');
  });
  test('every command is listed statically and the --help layout is kept', async () => {
    const { loadCommands } = await import('../src/cli/main');
    expect(loadCommands().map((c) => c.name)).toEqual(['ablate', 'bench', 'bench-model', 'data', 'demo', 'eval', 'report', 'rollout', 'train-predictor', 'train-vae']);
    const all = await run(['--help']);
    expect(all.out.split('\n').slice(0, 5)).toEqual([
      'worldkit: latent world models (VAE + LSTM predictor) on the command line',
      '',
      'usage: worldkit <command> [flags]    (worldkit <command> --help for its flags)',
      '',
      'commands:',
    ]);
    const b = await run(['bench', '--help']);
    expect(b.out).toMatch(/^usage: worldkit bench[\s\S]*\nflags:\n  --filter <string>[\s\S]*\n  --help                    show this help$/);
  });
});

describe('worldkit CLI', () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'wk-cli-'));
  afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

  test('--help overall and per command', async () => {
    const all = await run(['--help']);
    expect(all.code).toBe(0);
    expect(all.out).toMatch(/commands:/);
    expect(all.out).toMatch(/\bdata\b/);
    const d = await run(['data', '--help']);
    expect(d.code).toBe(0);
    expect(d.out).toMatch(/usage: worldkit data/);
    expect(d.out).toMatch(/--episodes/);
  });

  test('unknown command, unknown flag, missing file: one line on stderr, exit 2', async () => {
    for (const argv of [['nope'], ['data', 'sim', '--bogus', '1'], ['data', 'npz', path.join(tmp, 'missing.npz')], ['data']]) {
      const r = await run(argv);
      expect(r.code).toBe(2);
      expect(r.errLines.length).toBe(1);
      expect(r.err).toMatch(/^worldkit/);
    }
  });

  test('data sim and npz write a contact sheet', async () => {
    const sheet = path.join(tmp, 'sim.png');
    const r = await run(['data', 'sim', '--episodes', '2', '--steps', '12', '--no-cache', '--sheet', sheet, '--cols', '4', '--scale', '1']);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/2 episodes, 24 frames/);
    const img = decodePNG(fs.readFileSync(sheet));
    expect([img.width, img.height]).toEqual([4 * 64 + 5 * 2, 2 * 64 + 3 * 2]);
    const npz = await run(['data', 'npz', path.join(__dirname, 'fixtures', 'npz', 'bad'), '--out', tmp]);
    expect(npz.code).toBe(1); // loaded the good file, reported the bad ones
    expect(npz.err).toMatch(/length_mismatch\.npz: obs has 4 frames but action has 3 rows/);
    expect(fs.existsSync(path.join(tmp, 'npz_sheet.png'))).toBe(true);
  });

  test('the real process exits 2 on a bad flag', () => {
    const root = path.join(__dirname, '..');
    const r = spawnSync(process.execPath, ['-r', path.join(__dirname, 'helpers', 'ts_register.js'), path.join(root, 'src', 'cli', 'main.ts'), 'data', 'sim', '--batch_size', '4'], {
      encoding: 'utf8',
      env: process.env,
    });
    expect(r.status).toBe(2);
    expect(r.stderr.trim()).toBe("worldkit data: unknown flag '--batch_size'");
  });
});
