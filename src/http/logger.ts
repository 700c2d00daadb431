/**
 * The process logger: JSON lines (pino). Request URLs are logged with sensitive query values
 * redacted, and credentials in headers or known fields are censored, so no code, secret or full
 * phone number is written to a log.
 */
import { pino, type Logger } from 'pino';
import { redactUrl } from './redact-url.js';

interface RawRequest {
  method?: string;
  url?: string;
  ip?: string;
  id?: string;
}

export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: 'eidhub' },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: {
        paths: [
          'req.headers.authorization',
          'req.headers.cookie',
          'res.headers["set-cookie"]',
          '*.authToken',
          '*.secret',
          '*.secrets',
          '*.client_secret',
          '*.code',
          '*.password',
        ],
        censor: '[redacted]',
      },
      serializers: {
        req: (req: RawRequest) => ({ method: req.method, url: redactUrl(req.url ?? ''), id: req.id, ip: req.ip }),
      },
    },
    destination,
  );
}

type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace';
type LogFn = (...args: unknown[]) => void;

/**
 * A request's child logger, created only when a line is written at an enabled level. Fastify
 * makes one child per request; with redaction configured a pino child costs more than most
 * requests log, which at the default level is nothing.
 */
export class LazyChildLogger {
  private real: Logger | undefined;

  constructor(
    private readonly parent: Logger,
    private readonly bindings: Record<string, unknown>,
    private readonly options: pino.ChildLoggerOptions | undefined,
  ) {}

  private materialize(): Logger {
    this.real ??= this.parent.child(this.bindings, this.options);
    return this.real;
  }

  private write(level: LogLevel, args: unknown[]): void {
    if (this.isLevelEnabled(level)) (this.materialize()[level] as LogFn)(...args);
  }

  get level(): string {
    return this.real?.level ?? this.options?.level ?? this.parent.level;
  }
  set level(value: string) {
    this.materialize().level = value;
  }

  fatal(...args: unknown[]): void {
    this.write('fatal', args);
  }
  error(...args: unknown[]): void {
    this.write('error', args);
  }
  warn(...args: unknown[]): void {
    this.write('warn', args);
  }
  info(...args: unknown[]): void {
    this.write('info', args);
  }
  debug(...args: unknown[]): void {
    this.write('debug', args);
  }
  trace(...args: unknown[]): void {
    this.write('trace', args);
  }
  silent(): void {}

  /** The child's own level when it has one (a route's `logLevel`, a level set later), else the parent's. */
  isLevelEnabled(level: string): boolean {
    if (this.real) return this.real.isLevelEnabled(level);
    const own = this.options?.level;
    if (own === undefined) return this.parent.isLevelEnabled(level);
    const values = this.parent.levels.values;
    return own !== 'silent' && (values[level] ?? Infinity) >= (values[own] ?? Infinity);
  }

  child(bindings: Record<string, unknown>, options?: pino.ChildLoggerOptions): Logger {
    return this.materialize().child(bindings, options);
  }
}
