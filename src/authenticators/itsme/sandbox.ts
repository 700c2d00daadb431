/**
 * The sandbox's itsme: in sandbox mode, when no upstream provider is called itsme, eidhub adds
 * `{ id: "itsme", simulator: true }`; the simulator itself (src/sandbox/itsme/) registers eidhub's
 * upstream client of each such provider as its client.
 */
import type { Config } from '../../config/schema.js';

/** Sandbox mode with no provider called itsme gets the simulator as itsme (CONTRACT §8). */
export function withSandboxItsme(config: Config): Config {
  if (!config.sandbox || config.upstreamProviders.some((p) => p.id === 'itsme')) return config;
  return { ...config, upstreamProviders: [...config.upstreamProviders, { id: 'itsme', simulator: true, timeoutMs: 10_000 }] };
}
