/**
 * Security headers. Hosted pages get a strict nonce-based CSP whose frame-ancestors and
 * form-action come from the protocol's page policy; every answer gets the basic hardening set.
 */
import { randomBytes } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';

/** Whether cookies may be Secure: browsers accept Secure cookies over http only on loopback hosts. */
export function cookiesCanBeSecure(publicUrl: string): boolean {
  const url = new URL(publicUrl);
  return url.protocol === 'https:' || ['localhost', '127.0.0.1', '[::1]'].includes(url.hostname);
}

export function newNonce(): string {
  return randomBytes(16).toString('base64');
}

export interface PageSecurity {
  nonce: string;
  frameAncestors: string[];
  formActionOrigins: string[];
}

export function contentSecurityPolicy(p: PageSecurity): string {
  return [
    "default-src 'none'",
    `style-src 'nonce-${p.nonce}'`,
    `script-src 'nonce-${p.nonce}'`,
    'img-src data:',
    `form-action 'self'${p.formActionOrigins.map((o) => ` ${o}`).join('')}`,
    "base-uri 'none'",
    `frame-ancestors ${p.frameAncestors.join(' ')}`,
  ].join('; ');
}

/** Headers of an HTML page that a person sees. */
export function setPageHeaders(reply: FastifyReply, p: PageSecurity): void {
  reply.header('content-security-policy', contentSecurityPolicy(p));
  if (p.frameAncestors.length === 1 && p.frameAncestors[0] === "'none'") reply.header('x-frame-options', 'DENY');
  reply.header('cache-control', 'no-store');
  reply.header('referrer-policy', 'no-referrer');
  reply.header('permissions-policy', 'otp-credentials=(self)');
  reply.type('text/html; charset=utf-8');
}

/** Headers every answer carries (the raw routes set them on the Node.js response). */
export const BASE_HEADERS: Readonly<Record<string, string>> = { 'x-content-type-options': 'nosniff', 'referrer-policy': 'no-referrer' };

/** BASE_HEADERS on a Fastify reply, keeping a header a route already set (the hosted pages set their own referrer policy). */
export function setBaseHeaders(reply: FastifyReply): void {
  for (const [name, value] of Object.entries(BASE_HEADERS)) if (!reply.hasHeader(name)) reply.header(name, value);
}

/**
 * Whether a POST comes from a page of `origin` (eidhub's own, the publicUrl's): its Origin says
 * so or, where the browser sends none or hides it as `null` (as it does for a form posted under a
 * no-referrer policy, which the hosted pages set), its Sec-Fetch-Site does. A request with neither
 * (Safari before 16.4 sends `Origin: null` and no Sec-Fetch-Site) is let through: the form's CSRF
 * token still guards it.
 */
export function isSameOriginPost(req: FastifyRequest, origin: string): boolean {
  const from = req.headers.origin;
  if (from !== undefined && from !== 'null') return from === origin;
  const site = req.headers['sec-fetch-site'];
  return site === undefined || site === 'same-origin';
}
