/**
 * One error type for everything the showcase refuses or fails at, and the one handler that
 * answers it. The body is seed 004's shape: `{error, status}`, with `data` holding the auth
 * server's own answer when the error came from there, and a `message` a person can read.
 */
import type { FastifyError, FastifyInstance } from 'fastify';

export class ShowcaseError extends Error {
  override name = 'ShowcaseError';

  constructor(
    readonly status: number,
    readonly error: string,
    message: string,
    /** The auth server's answer, passed on as it came. */
    readonly data?: unknown,
  ) {
    super(message);
  }

  toJSON(): Record<string, unknown> {
    return { error: this.error, status: this.status, message: this.message, ...(this.data === undefined ? {} : { data: this.data }) };
  }
}

export const badRequest = (error: string, message: string) => new ShowcaseError(400, error, message);

function toShowcaseError(err: FastifyError | Error): ShowcaseError {
  if (err instanceof ShowcaseError) return err;
  const fe = err as FastifyError;
  if (fe.validation) {
    const first = fe.validation[0];
    const missing = (first?.params as { missingProperty?: string } | undefined)?.missingProperty;
    const field = missing ?? first?.instancePath.replace(/^\//, '').replace(/\//g, '.');
    return badRequest('invalid_request', `${field || 'body'}: ${missing ? 'is required' : (first?.message ?? 'is invalid')}`);
  }
  if (fe.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') return new ShowcaseError(415, 'unsupported_media_type', 'send the body as application/json');
  if (fe.statusCode && fe.statusCode >= 400 && fe.statusCode < 500) return new ShowcaseError(fe.statusCode, 'invalid_request', err.message);
  return new ShowcaseError(500, 'internal', 'something went wrong in the showcase app');
}

export function registerErrorHandler(app: FastifyInstance): void {
  app.setErrorHandler((err: FastifyError | Error, req, reply) => {
    const e = toShowcaseError(err);
    if (e.status >= 500 && !(err instanceof ShowcaseError)) req.log.error({ err }, 'request failed');
    return reply.code(e.status).type('application/json; charset=utf-8').send(e.toJSON());
  });
  app.setNotFoundHandler((_req, reply) => reply.code(404).send(new ShowcaseError(404, 'not_found', 'no such page').toJSON()));
}
