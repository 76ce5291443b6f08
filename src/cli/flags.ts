/**
 * Command-line flags as users already write them: `--batch_size 4`, `--batch-size 4`,
 * `--batch_size=4`; booleans as `--use_actions`, `--use_actions=false`, `--no_use_actions`
 * (or `--no-use-actions`). Names are declared in snake_case; dashes and underscores are the
 * same. An unknown flag, a missing value or a value of the wrong type is a UsageError, which
 * the CLI prints as one line on stderr with exit code 2.
 */
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

export function parseFlags(argv: string[], specs: FlagSpec[]): ParsedArgs {
  const byName = new Map(specs.map((s) => [normalizeFlagName(s.name), s]));
  const flags: FlagValues = {};
  for (const s of specs) flags[s.name] = s.default;
  const positionals: string[] = [];
  const given = new Set<string>();
  let help = false;
  for (let i = 0; i < argv.length; ++i) {
    const arg = argv[i];
    if (arg === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (arg === '-h' || arg === '--help') {
      help = true;
      continue;
    }
    if (!arg.startsWith('--') || arg === '--') {
      if (arg.startsWith('-') && arg.length > 1 && Number.isNaN(Number(arg))) throw new UsageError(`unknown option '${arg}' (flags start with --)`);
      positionals.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const rawName = normalizeFlagName(arg.slice(2, eq >= 0 ? eq : undefined));
    let spec = byName.get(rawName);
    let negated = false;
    if (!spec && rawName.startsWith('no_')) {
      const s = byName.get(rawName.slice(3));
      if (s && s.type === 'boolean') {
        spec = s;
        negated = true;
      }
    }
    if (!spec) {
      const near = [...byName.keys()].filter((k) => k.includes(rawName) || rawName.includes(k)).slice(0, 2);
      throw new UsageError(`unknown flag '${arg.slice(0, eq >= 0 ? eq : undefined)}'${near.length ? ` (did you mean ${near.map((n) => '--' + n).join(' or ')}?)` : ''}`);
    }
    given.add(spec.name);
    if (negated) {
      if (eq >= 0) throw new UsageError(`--no_${spec.name} takes no value`);
      flags[spec.name] = false;
      continue;
    }
    if (eq >= 0) flags[spec.name] = convert(spec, arg.slice(eq + 1));
    else if (spec.type === 'boolean') {
      const next = argv[i + 1];
      if (next !== undefined && /^(true|false)$/i.test(next)) {
        flags[spec.name] = convert(spec, next);
        ++i;
      } else flags[spec.name] = true;
    } else {
      const next = argv[i + 1];
      if (next === undefined || (next.startsWith('--') && next.length > 2)) throw new UsageError(`--${spec.name} needs a value`);
      flags[spec.name] = convert(spec, next);
      ++i;
    }
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
