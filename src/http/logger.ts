/**
 * The process logger: JSON lines (pino). Request URLs are logged with sensitive query values
 * redacted, and credentials in headers or known fields are censored, so no code, secret or full
 * phone number is written to a log.
 */
import { pino, type Logger } from 'pino';
import { redactUrl } from './server.js';

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
