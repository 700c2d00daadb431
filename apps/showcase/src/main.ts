/**
 * `npm run showcase`: reads the config with the `config` package from apps/showcase/config
 * (default.json, then NODE_ENV's file, local.json, the PORT and HOST variables, and NODE_CONFIG
 * as JSON), checks it, and serves the showcase on http://localhost:3001 (or PORT).
 */
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { buildShowcase } from './app.js';
import { parseSettings, publicUrlOf, SettingsError } from './settings.js';

// The config package reads NODE_CONFIG_DIR when it is first imported; the npm script sets it,
// and this default lets the file be started from any folder.
process.env.NODE_CONFIG_DIR ??= fileURLToPath(new URL('../config/', import.meta.url));

async function main(): Promise<void> {
  const { default: config } = await import('config');
  const settings = parseSettings(config.util.toObject());
  const logger = pino({ level: process.env.SHOWCASE_LOG_LEVEL ?? 'info' });
  const app = await buildShowcase(settings, { logger, publicUrl: publicUrlOf(settings, settings.port) });
  await app.listen({ port: settings.port, host: settings.host });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : settings.port;
  const servers = settings.auth_servers.map((s) => `${s.id} ${s.url}`).join(', ') || 'none configured';
  process.stdout.write(`showcase listening on ${publicUrlOf(settings, port)} (auth servers: ${servers}; realm ${settings.realm})\n`);
  const stop = () => void app.close().then(() => process.exit(0));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((err: unknown) => {
  process.stderr.write(`showcase: ${err instanceof SettingsError ? err.message : err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
