/** The shape of a CLI command (see src/cli/main.ts for how commands are found and run). */
import { FlagSpec, ParsedArgs } from './flags';

export interface CliIO {
  out: (line: string) => void;
  err: (line: string) => void;
  /** True when stdout is a terminal (progress bars); plain lines otherwise. */
  isTTY: boolean;
}

export interface Command {
  /** The word after `worldkit` (kebab-case: `train-vae`). */
  name: string;
  /** One line for the overall --help. */
  summary: string;
  /** Usage and description for `worldkit <name> --help` (first line: the synopsis). */
  usage: string;
  flags: FlagSpec[];
  /** Returns the exit code (0 when omitted). Throw UsageError for a bad call (exit 2). */
  run(args: ParsedArgs, io: CliIO): number | void | Promise<number | void>;
}
