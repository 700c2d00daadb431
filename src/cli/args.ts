/**
 * The `eidhub` command line, checked with node:util's parseArgs before anything runs: each
 * command takes only its own options, so a mistyped flag is refused with a message and exit code
 * 2 rather than ignored (a server started with defaults it was not meant to have). `--version`
 * and `--help` (per command) answer without reading a config file.
 */
import { createRequire } from 'node:module';
import { parseArgs, type ParseArgsConfig } from 'node:util';

type Options = NonNullable<ParseArgsConfig['options']>;

const config = { config: { type: 'string' } } as const satisfies Options;

/** The commands and the options each takes, by the words that name them. */
const COMMANDS: Readonly<Record<string, Options>> = {
  '': config,
  'keys rotate': config,
  'config check': config,
  'clients list': config,
  'clients add': { ...config, kind: { type: 'string' }, realm: { type: 'string' }, confidential: { type: 'boolean' } },
  'clients remove': { ...config, realm: { type: 'string' } },
  'secrets add': { ...config, realm: { type: 'string' }, name: { type: 'string' } },
  'secrets revoke': { ...config, realm: { type: 'string' } },
};

const COMMON = { help: { type: 'boolean', short: 'h' }, version: { type: 'boolean', short: 'v' } } as const satisfies Options;

export type CommandLine =
  | { kind: 'version'; text: string }
  | { kind: 'help'; command: string }
  | { kind: 'refused'; message: string }
  | { kind: 'run'; command: string };

/** eidhub's version, from its package.json (one folder up from src/ and from dist/). */
export function eidhubVersion(): string {
  return (createRequire(import.meta.url)('../../package.json') as { version: string }).version;
}

/** The first words of the commands (`keys`, `clients`…). */
const GROUPS = new Set(Object.keys(COMMANDS).map((c) => c.split(' ')[0]));

/**
 * The command the words name (`clients add`); '' for the server, whose options then apply to
 * words that name no command (they are refused as an unknown command later); undefined for a
 * command's group with an unknown second word.
 */
function commandOf(positionals: readonly string[]): string | undefined {
  const two = positionals.slice(0, 2).join(' ');
  if (positionals.length >= 2 && two in COMMANDS) return two;
  return GROUPS.has(positionals[0] ?? '') ? undefined : '';
}

/** Reads the command line: what to do, or why it is refused. */
export function readCommandLine(args: readonly string[]): CommandLine {
  const loose = parseArgs({ args: [...args], options: COMMON, allowPositionals: true, strict: false });
  if (loose.values.version === true) return { kind: 'version', text: `eidhub ${eidhubVersion()}` };
  const command = commandOf(loose.positionals);
  if (loose.values.help === true) return { kind: 'help', command: command ?? loose.positionals[0] ?? '' };
  if (command === undefined) return { kind: 'run', command: loose.positionals.join(' ') };
  try {
    parseArgs({ args: [...args], options: { ...COMMANDS[command], ...COMMON }, allowPositionals: true, strict: true });
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code !== 'ERR_PARSE_ARGS_UNKNOWN_OPTION' && code !== 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') throw err;
    const option = /'(-[^']*)'/.exec((err as Error).message)?.[1];
    const what = code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' ? `unknown option ${option ?? ''}` : (err as Error).message.split('.')[0];
    return { kind: 'refused', message: `${what} for eidhub${command ? ` ${command}` : ''}; see eidhub ${command ? `${command} ` : ''}--help` };
  }
  return { kind: 'run', command };
}

/**
 * The part of `help` about one command: its usage lines (those naming `eidhub {group}`, with the
 * lines indented under them); all of it for the server or a command it does not know.
 */
export function helpFor(help: string, command: string): string {
  const group = command.split(' ')[0];
  if (!group) return help;
  const lines = help.split('\n');
  const out: string[] = [];
  let inside = false;
  for (const line of lines) {
    if (/^ {2}eidhub /.test(line)) inside = line.startsWith(`  eidhub ${group}`);
    else if (!/^ {4,}/.test(line)) inside = false;
    if (inside) out.push(line);
  }
  return out.length > 0 ? `usage:\n${out.join('\n')}` : help;
}
