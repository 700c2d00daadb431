/**
 * Who the client is, by the `trustProxy` rule: the address rate limits and budgets count a
 * request by. Fastify's requests (`req.ip`) and the raw routes (clientAddress) apply the same rule.
 */
import proxyAddr from '@fastify/proxy-addr';
import ipaddr from 'ipaddr.js';
import type { IncomingMessage } from 'node:http';
import type { TrustProxy } from '../config/schema.js';

/** Whether the hop `i` away (0: the connection's peer) at `addr` may speak for the client. */
export type ProxyTrust = (addr: string, i: number) => boolean;

/**
 * The trust function Fastify and proxy-addr take. A hop count is passed as a function: Fastify
 * itself reads a bare number as "trust nobody" (fastify/lib/request.js), which would count every
 * person behind the proxy as the proxy.
 */
export function proxyTrust(trustProxy: TrustProxy): ProxyTrust {
  if (trustProxy === false) return () => false;
  if (trustProxy === true) return () => true;
  if (typeof trustProxy === 'number') return (_addr, i) => i < trustProxy;
  return proxyAddr.compile(trustProxy);
}

/** The client's address for a request served before Fastify (a raw route), as `req.ip` would be. */
export function clientAddress(req: IncomingMessage, trust: ProxyTrust): string {
  return proxyAddr(req, trust);
}

/**
 * The address a limit counts `address` by: an IPv4 address itself (also written IPv4-mapped),
 * an IPv6 address by its /64, the least a network hands one subscriber (as @fastify/rate-limit
 * counts them), so that one host cannot spread its attempts over its own addresses.
 */
export function limitedAddress(address: string): string {
  if (!ipaddr.isValid(address)) return address;
  const parsed = ipaddr.process(address);
  if (parsed.kind() === 'ipv4') return parsed.toString();
  const parts = (parsed as ipaddr.IPv6).parts.slice(0, 4).map((p) => p.toString(16));
  return `${parts.join(':')}::/64`;
}

/**
 * Whether oidc-provider's Koa app may read X-Forwarded-Proto and -Host (Koa knows only on or
 * off): on behind any proxy eidhub trusts, since that proxy is where TLS ends.
 */
export function koaProxy(trustProxy: TrustProxy): boolean {
  return trustProxy !== false;
}
