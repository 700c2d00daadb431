/**
 * The SAML 2.0 identity provider itself, loaded by index.ts when it is first needed: the service
 * providers of the registry (service-providers.ts: the config's and those added at run time), the
 * signing key of the store (keys.ts) that is current at the moment it signs, the IdP metadata,
 * and the adapter the hosted pages use.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { cookiesCanBeSecure } from '../../http/security.js';
import { escapeHtml } from '../../ui/i18n.js';
import type { ProtocolContext } from '../types.js';
import { ensureSamlSigningKey, samlKeyRing } from './keys.js';
import { buildIdpMetadata } from './metadata.js';
import { SamlProtocol, type PostAnswer } from './protocol.js';
import { signMetadata } from './sign.js';

/** How long a signing-key ring is reused before it is worked out again (a rollover takes effect within this). */
const RING_TTL_MS = 10_000;

export interface SamlIdp {
  protocol: SamlProtocol;
  /** The IdP metadata, signed with the current key. */
  metadata(): string;
  /** The store's keys changed (a rotation by any process). */
  keysChanged(): void;
}

export async function createSamlIdp(context: ProtocolContext): Promise<SamlIdp> {
  const { config, store, logger: parentLogger, now } = context;
  const logger = parentLogger.child({ module: 'saml' });
  const publicUrl = new URL(config.publicUrl);
  const certificateSubject = publicUrl.hostname;
  await ensureSamlSigningKey(store.keys, store.secrets, now(), certificateSubject);
  let stored = await store.keys.list(now());
  let ring = { at: 0, value: samlKeyRing(stored, now()) };
  const currentRing = () => {
    const t = now();
    if (t - ring.at > RING_TTL_MS) ring = { at: t, value: samlKeyRing(stored, t) };
    return ring.value;
  };
  const reloadKeys = async () => {
    stored = await store.keys.list(now());
    ring = { at: 0, value: ring.value };
  };

  const errorPage = (req: FastifyRequest, reply: FastifyReply, status: number, reason: string) => {
    const page = context.errorPage(req.headers['accept-language'], undefined);
    return reply
      .code(status)
      .headers(page.headers)
      .type('text/html; charset=utf-8')
      .send(page.html.replace('</main>', `<p class="technical">${escapeHtml(reason)}</p></main>`));
  };
  const postPage = (req: FastifyRequest, reply: FastifyReply, answer: PostAnswer, outcome: 'success' | 'error' | 'abort') => {
    const page = context.postPage(req.headers['accept-language'], undefined, answer, outcome);
    return reply.code(200).headers(page.headers).type('text/html; charset=utf-8').send(page.html);
  };

  const saml = new SamlProtocol({
    publicUrl: config.publicUrl,
    accountId: config.accountId,
    serviceProviders: context.samlServiceProviders,
    transactions: context.transactions,
    authenticators: context.authenticators,
    store,
    signingKey: () => currentRing().signing,
    settings: config.saml,
    loginWindowMs: config.otp.loginWindowSeconds * 1000,
    hostedPageUrl: context.hostedPageUrl,
    errorPage,
    postPage,
    secureCookies: cookiesCanBeSecure(config.publicUrl),
    logger,
    now,
  });

  const releasable = [...new Set([...context.authenticators.values()].flatMap((a) => Object.keys(a.claims.saml({ id: '', idpId: '', attributes: {} }))))];
  let metadataCache: { kids: string; xml: string } | undefined;
  const metadata = () => {
    const { signing, published } = currentRing();
    const kids = published.map((k) => k.kid).join(',');
    if (metadataCache?.kids !== kids || metadataCache.xml === '') {
      const unsigned = buildIdpMetadata({ entityId: saml.entityId, ssoUrl: saml.ssoUrl, sloUrl: saml.sloUrl, keys: published, attributes: releasable });
      const id = /\sID="([^"]+)"/.exec(unsigned)?.[1];
      metadataCache = { kids, xml: id ? signMetadata(unsigned, id, signing) : unsigned };
    }
    return metadataCache.xml;
  };

  return {
    protocol: saml,
    metadata,
    keysChanged() {
      reloadKeys().catch((err: unknown) => logger.error({ err }, 'saml: could not reload signing keys'));
    },
  };
}
