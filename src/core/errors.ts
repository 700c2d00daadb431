/**
 * One error type for everything eidhub refuses on purpose. It carries the HTTP status, a stable
 * machine-readable code, a message safe to show, and (for request validation) the field at fault.
 * http/error-handler.ts is the one place that turns it into an answer.
 */
/** One field at fault: its path (`redirectUris[1]`) and what is wrong with it. */
export interface FieldIssue {
  field: string;
  message: string;
}

export class EidhubError extends Error {
  override name = 'EidhubError';
  readonly status: number;
  readonly code: string;
  /** The request field at fault (JSON pointer or parameter name), when there is one. */
  readonly field: string | undefined;
  /** Every field at fault with what is wrong with it, when a validation found several (a form shows each beside its field). */
  readonly issues: readonly FieldIssue[];
  /** For a 429: the seconds until the same request may succeed, answered as Retry-After. */
  readonly retryAfterSeconds: number | undefined;

  constructor(
    status: number,
    code: string,
    message: string,
    options?: { field?: string | undefined; cause?: unknown; issues?: readonly FieldIssue[]; retryAfterSeconds?: number | undefined },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.status = status;
    this.code = code;
    this.field = options?.field;
    this.retryAfterSeconds = options?.retryAfterSeconds;
    this.issues = options?.issues ?? (options?.field === undefined ? [] : [{ field: options.field, message }]);
    this.retryAfterSeconds = options?.retryAfterSeconds;
  }
}

export const badRequest = (code: string, message: string, field?: string) => new EidhubError(400, code, message, { field });
export const notFound = (message = 'not found') => new EidhubError(404, 'not_found', message);
/** Retry-After of a 429 whose error names no wait: the longest of the default limits' windows. */
export const DEFAULT_RETRY_AFTER_SECONDS = 60;

/** A 429: too many requests, with when to try again. */
export const tooManyRequests = (code: string, retryAfterSeconds: number, message = `too many requests; try again in ${retryAfterSeconds} seconds`) =>
  new EidhubError(429, code, message, { retryAfterSeconds });
export const conflict = (code: string, message: string) => new EidhubError(409, code, message);

/** What eidhub depends on that can fail without the request being at fault. */
export type Dependency = 'store' | 'sms';

/**
 * A dependency (the store, the SMS provider) could not answer in time or at all: not the
 * request's fault, so it is answered 503 with Retry-After and a "temporarily unavailable, try
 * again" page, and logged at error with its cause. `dependency` says which, for logs and metrics.
 */
export class DependencyUnavailableError extends EidhubError {
  override name = 'DependencyUnavailableError';
  readonly dependency: Dependency;
  constructor(dependency: Dependency, message: string, options?: { cause?: unknown; retryAfterSeconds?: number }) {
    super(503, 'temporarily_unavailable', message, { cause: options?.cause, retryAfterSeconds: options?.retryAfterSeconds ?? 5 });
    this.dependency = dependency;
  }
}
