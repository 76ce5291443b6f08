/**
 * Command-line flags as users already write them: `--batch_size 4`, `--batch-size 4`,
 * `--batch_size=4`; booleans as `--use_actions`, `--use_actions=false`, `--no_use_actions`
 * (or `--no-use-actions`). Names are declared in snake_case; dashes and underscores are the
 * same. An unknown flag, a missing value or a value of the wrong type is a UsageError, which
 * the CLI prints as one line on stderr with exit code 2. Tokenizing is node's util.parseArgs;
 * the spellings, conversions, "did you mean" and messages are worldkit's.
 */
import { parseArgs } from 'util';

export type FlagType = 'string' | 'number' | 'int' | 'boolean';

export interface FlagSpec {
  /** snake_case name, without dashes. */
  name: string;
  type: FlagType;
  help: string;
  default?: string | number | boolean;
  /** Allowed values of a string flag. */
  choices?: string[];
  /** Placeholder shown in help (default: the type). */
  metavar?: string;
}

export type FlagValues = Record<string, string | number | boolean | undefined>;

export interface ParsedArgs {
  flags: FlagValues;
  positionals: string[];
  help: boolean;
  /** The flags written on the command line (names as declared), as opposed to defaults. */
  given?: string[];
}

/** A mistake in how the command was called (exit code 2). */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export const normalizeFlagName = (s: string): string => s.replace(/-/g, '_').toLowerCase();

function convert(spec: FlagSpec, raw: string): string | number | boolean {
  const flag = `--${spec.name}`;
  switch (spec.type) {
    case 'boolean': {
      const v = raw.toLowerCase();
      if (['true', '1', 'yes', 'on'].includes(v)) return true;
      if (['false', '0', 'no', 'off'].includes(v)) return false;
      throw new UsageError(`${flag} is a switch: expected true or false, got '${raw}'`);
    }
    case 'int': {
      const n = Number(raw);
      if (raw.trim() === '' || !Number.isInteger(n)) throw new UsageError(`${flag} expects an integer, got '${raw}'`);
      return n;
    }
    case 'number': {
      const n = Number(raw);
      if (raw.trim() === '' || !Number.isFinite(n)) throw new UsageError(`${flag} expects a number, got '${raw}'`);
      return n;
    }
    default:
      if (spec.choices && !spec.choices.includes(raw)) throw new UsageError(`${flag} must be one of ${spec.choices.join(', ')}, got '${raw}'`);
      return raw;
  }
}

/** Edit distance (insertions, deletions, substitutions), for "did you mean". */
function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; ++i) {
    let prev = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; ++j) {
      const cur = row[j];
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = cur;
    }
  }
  return row[b.length];
}

/** Up to two declared names close to `name` (one contains the other, or a typo away). */
export function suggestFlags(name: string, names: string[]): string[] {
  const near = names.filter((k) => k.includes(name) || name.includes(k));
  const typos = names
    .map((k) => [k, editDistance(name, k)] as const)
    .filter(([k, d]) => d <= Math.max(1, Math.floor(k.length / 4)) && !near.includes(k))
    .sort((x, y) => x[1] - y[1])
    .map(([k]) => k);
  return [...near, ...typos].slice(0, 2);
}

const isNumber = (s: string): boolean => s.trim() !== '' && !Number.isNaN(Number(s));

/**
 * Parses `argv` against `specs` with node's util.parseArgs (tokens mode) doing the tokenizing:
 * every `--Name-x` is first spelled as declared (`--name_x`), then each token is checked and
 * converted here, so the messages stay worldkit's own.
 */
export function parseFlags(argv: string[], specs: FlagSpec[]): ParsedArgs {
  const byName = new Map(specs.map((s) => [normalizeFlagName(s.name), s]));
  const flags: FlagValues = {};
  for (const s of specs) flags[s.name] = s.default;
  const positionals: string[] = [];
  const given = new Set<string>();
  let help = false;

  // One spelling per flag: dashes become underscores, lower case (up to '=' and before any '--').
  const terminator = argv.indexOf('--');
  const args = argv.map((a, i) => {
    if ((terminator >= 0 && i >= terminator) || !a.startsWith('--') || a === '--') return a;
    const eq = a.indexOf('=');
    return '--' + normalizeFlagName(a.slice(2, eq >= 0 ? eq : undefined)) + (eq >= 0 ? a.slice(eq) : '');
  });
  const options: Record<string, { type: 'string' | 'boolean'; short?: string }> = { help: { type: 'boolean', short: 'h' } };
  for (const [name, spec] of byName) options[name] = { type: spec.type === 'boolean' ? 'boolean' : 'string' };
  const { tokens } = parseArgs({ args, options, strict: false, allowPositionals: true, tokens: true });

  const done = new Set<number>(); // argv indexes consumed (a short-option group yields one token per letter)
  for (let t = 0; t < tokens.length; ++t) {
    const tok = tokens[t];
    if (done.has(tok.index)) continue;
    if (tok.kind === 'option-terminator') {
      positionals.push(...args.slice(tok.index + 1));
      break;
    }
    if (tok.kind === 'positional') {
      positionals.push(tok.value);
      continue;
    }
    const raw = argv[tok.index];
    if (!tok.rawName.startsWith('--')) {
      done.add(tok.index);
      if (tok.name === 'h' || tok.name === 'help') {
        help = true;
        continue;
      }
      if (isNumber(raw)) {
        positionals.push(raw);
        continue;
      }
      throw new UsageError(`unknown option '${raw}' (flags start with --)`);
    }
    if (tok.name === 'help') {
      help = true;
      continue;
    }
    const written = raw.slice(0, tok.inlineValue ? raw.indexOf('=') : undefined);
    let spec = byName.get(tok.name);
    let negated = false;
    if (!spec && tok.name.startsWith('no_')) {
      const s = byName.get(tok.name.slice(3));
      if (s && s.type === 'boolean') {
        spec = s;
        negated = true;
      }
    }
    if (!spec) {
      const near = suggestFlags(tok.name, [...byName.keys()]);
      throw new UsageError(`unknown flag '${written}'${near.length ? ` (did you mean ${near.map((n) => '--' + n).join(' or ')}?)` : ''}`);
    }
    given.add(spec.name);
    if (negated) {
      if (tok.inlineValue) throw new UsageError(`--no_${spec.name} takes no value`);
      flags[spec.name] = false;
      continue;
    }
    if (spec.type === 'boolean') {
      if (tok.inlineValue) flags[spec.name] = convert(spec, tok.value ?? '');
      else {
        // `--use_actions false`: a following true/false is the switch's value
        const next = tokens[t + 1];
        if (next?.kind === 'positional' && /^(true|false)$/i.test(next.value)) {
          flags[spec.name] = convert(spec, next.value);
          ++t;
        } else flags[spec.name] = true;
      }
      continue;
    }
    const value = tok.value;
    if (value === undefined || (!tok.inlineValue && value.startsWith('--') && value.length > 2)) throw new UsageError(`--${spec.name} needs a value`);
    flags[spec.name] = convert(spec, value);
  }
  return { flags, positionals, help, given: [...given] };
}

/** The flags section of a command's --help. */
export function formatFlags(specs: FlagSpec[]): string {
  const rows = specs.map((s) => {
    const meta = s.type === 'boolean' ? '' : ` <${s.metavar ?? (s.choices ? s.choices.join('|') : s.type)}>`;
    const def = s.default !== undefined && s.type !== 'boolean' ? ` (default ${s.default})` : s.default === true ? ' (default on)' : '';
    return [`  --${s.name}${meta}`, `${s.help}${def}`];
  });
  const w = Math.min(34, Math.max(0, ...rows.map((r) => r[0].length)) + 2);
  return rows.map(([a, b]) => (a.length >= w ? `${a}\n${' '.repeat(w)}${b}` : a.padEnd(w) + b)).join('\n');
}
