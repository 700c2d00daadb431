/**
 * The sandbox's itsme: in sandbox mode, when no upstream provider is called itsme, eidhub adds
 * `{ id: "itsme", simulator: true }`, and the simulator (an OpenID Provider inside eidhub at
 * `{publicUrl}/sandbox/itsme`, src/sandbox/itsme/) is registered with eidhub's own upstream
 * client as its one client. The simulator is reached only through `RegisterItsmeSimulator`, the
 * shape of its registration function, which main.ts passes in.
 */
import type { FastifyInstance } from 'fastify';
import type { JWK } from 'jose';
import type { Logger } from 'pino';
import type { Config } from '../../config/schema.js';
import type { Store } from '../../store/types.js';
import { rpKeysOf } from './rp-keys.js';
import { resolveSettings, SIMULATOR_MOUNT, type Encryption } from './settings.js';

/** A client of the simulator: eidhub's upstream client for one simulator provider. */
export interface SimulatorClient {
  clientId: string;
  redirectUris: string[];
  /** eidhub's public signing and encryption keys. */
  jwks(): Promise<{ keys: JWK[] }>;
  encryption?: Encryption;
}

export type RegisterItsmeSimulator = (
  app: FastifyInstance,
  options: {
    publicUrl: string;
    store: Store;
    trustProxy: boolean;
    logger: Logger;
    now: () => number;
    clients: SimulatorClient[];
    cookieKeys: string[];
  },
) => Promise<{ issuer: string }>;

/** Sandbox mode with no provider called itsme gets the simulator as itsme (CONTRACT §8). */
export function withSandboxItsme(config: Config): Config {
  if (!config.sandbox || config.upstreamProviders.some((p) => p.id === 'itsme')) return config;
  return { ...config, upstreamProviders: [...config.upstreamProviders, { id: 'itsme', simulator: true, timeoutMs: 10_000 }] };
}

/**
 * Registers the simulator for the providers configured with `simulator: true`, each as a client
 * of it; does nothing when there are none.
 */
export async function sandboxItsme(
  app: FastifyInstance,
  register: RegisterItsmeSimulator,
  deps: { config: Config; store: Store; logger: Logger; now: () => number; cookieKey: Buffer },
): Promise<void> {
  const { config, store } = deps;
  const simulated = config.upstreamProviders.filter((p) => p.simulator).map((p) => resolveSettings(p, config.publicUrl));
  if (simulated.length === 0) return;
  const clients: SimulatorClient[] = simulated.map((s) => ({
    clientId: s.clientId,
    redirectUris: [s.redirectUri],
    jwks: async () => (await rpKeysOf(store, deps.now())).publicJwks,
    ...(s.encryption ? { encryption: s.encryption } : {}),
  }));
  const { issuer } = await register(app, {
    publicUrl: config.publicUrl,
    store,
    trustProxy: config.trustProxy,
    logger: deps.logger,
    now: deps.now,
    clients,
    cookieKeys: [deps.cookieKey.toString('base64url')],
  });
  const expected = `${config.publicUrl}${SIMULATOR_MOUNT}`;
  if (issuer !== expected) throw new Error(`the itsme simulator's issuer is ${issuer}, but eidhub's upstream client expects ${expected}`);
}
