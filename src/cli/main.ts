#!/usr/bin/env node
/**
 * `worldkit <command> [flags]`: the command line over the library.
 *
 * Adding a command (the pattern every command follows):
 *   1. Create src/cli/commands/<name>.ts exporting `command: Command` (src/cli/command.ts):
 *        export const command: Command = {
 *          name: 'train-vae', summary: 'one line', usage: 'worldkit train-vae [flags]\n\n...',
 *          flags: [{ name: 'batch_size', type: 'int', default: 32, help: '...' }, ...],
 *          async run({ flags, positionals }, io) { ...; return 0; },
 *        };
 *      Declare flag names in snake_case (the seed's spelling); kebab-case is accepted too.
 *   2. Add it to COMMANDS below (a static list: bundlers see every command, nothing is found by
 *      reading a folder at run time). Keep logic in the library; a command parses flags, calls
 *      library functions and prints.
 * Conventions: a bad call (unknown flag, wrong value, missing file) throws UsageError, printed
 * as one line `worldkit <command>: <message>` on stderr with exit code 2; other failures print
 * one line and exit 1; `--help` on any command prints its usage and flags.
 */
import * as path from 'path';
import { Command, CliIO } from './command';
import { formatFlags, parseFlags, UsageError } from './flags';
import { command as ablate } from './commands/ablate';
import { command as bench } from './commands/bench';
import { command as benchModel } from './commands/bench_model';
import { command as data } from './commands/data';
import { command as demo } from './commands/demo';
import { command as evalCommand } from './commands/eval';
import { command as report } from './commands/report';
import { command as rollout } from './commands/rollout';
import { command as trainPredictor } from './commands/train_predictor';
import { command as trainVae } from './commands/train_vae';

/** Every command, listed statically (src/cli/commands/<name>.ts). */
const COMMANDS: Command[] = [ablate, bench, benchModel, data, demo, evalCommand, report, rollout, trainPredictor, trainVae];

/** The commands, sorted by name. */
export function loadCommands(): Command[] {
  return [...COMMANDS].sort((a, b) => a.name.localeCompare(b.name));
}

function overallHelp(commands: Command[]): string {
  const w = Math.max(8, ...commands.map((c) => c.name.length)) + 2;
  return [
    'worldkit: latent world models (VAE + LSTM predictor) on the command line',
    '',
    'usage: worldkit <command> [flags]    (worldkit <command> --help for its flags)',
    '',
    'commands:',
    ...commands.map((c) => `  ${c.name.padEnd(w)}${c.summary}`),
    '',
    'Flags accept snake_case or kebab-case (--batch_size 4 == --batch-size 4).',
  ].join('\n');
}

export function commandHelp(c: Command): string {
  return `usage: ${c.usage}\n\nflags:\n${formatFlags(c.flags)}\n  --help                    show this help`;
}

export async function main(argv: string[], io?: Partial<CliIO>): Promise<number> {
  const cio: CliIO = {
    out: io?.out ?? ((s) => process.stdout.write(s + '\n')),
    err: io?.err ?? ((s) => process.stderr.write(s + '\n')),
    isTTY: io?.isTTY ?? !!process.stdout.isTTY,
  };
  const commands = loadCommands();
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    if (name === 'help' && rest[0]) {
      const c = commands.find((x) => x.name === rest[0]);
      if (c) {
        cio.out(commandHelp(c));
        return 0;
      }
    }
    cio.out(overallHelp(commands));
    return name === undefined ? 2 : 0;
  }
  if (name === '--version' || name === '-v') {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    cio.out(require(path.join(__dirname, '..', '..', 'package.json')).version);
    return 0;
  }
  const cmd = commands.find((c) => c.name === name);
  if (!cmd) {
    cio.err(`worldkit: unknown command '${name}' (commands: ${commands.map((c) => c.name).join(', ')}; see worldkit --help)`);
    return 2;
  }
  try {
    const args = parseFlags(rest, cmd.flags);
    if (args.help) {
      cio.out(commandHelp(cmd));
      return 0;
    }
    const code = await cmd.run(args, cio);
    return typeof code === 'number' ? code : 0;
  } catch (e) {
    const err = e as Error;
    if (err instanceof UsageError || err?.name === 'UsageError') {
      cio.err(`worldkit ${cmd.name}: ${err.message}`);
      return 2;
    }
    cio.err(`worldkit ${cmd.name}: ${err?.message ?? String(e)}`);
    if (process.env.WORLDKIT_DEBUG) cio.err(err?.stack ?? '');
    return 1;
  }
}

if (require.main === module) {
  // `worldkit ... | head`: a closed pipe ends the output quietly.
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(0);
    throw e;
  });
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (e) => {
      process.stderr.write(`worldkit: ${(e as Error).message}\n`);
      process.exitCode = 1;
    },
  );
}
