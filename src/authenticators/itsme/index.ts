/**
 * Login through an upstream OpenID Provider: one authenticator per `upstreamProviders` entry,
 * named by its id (`itsme`), generic OIDC underneath (upstream-client.ts) with the itsme preset
 * on top (settings.ts). The person logs in at the upstream: `enter` (or the "continue" step's
 * form) sends the browser there with a new request. Opening a page writes nothing (CONTRACT §4),
 * so the request is kept nowhere: its `state` names the login, a random part and a MAC under a
 * server key, and its nonce and PKCE verifier are derived from the state under that key. The
 * upstream's answer comes back through the fixed redirect URI (routes.ts) to `callback`, which
 * checks the state's MAC before anything else, derives the nonce and verifier again, exchanges
 * the code, reads UserInfo and ends the login.
 *
 * Failures: the person declining at the upstream ends the login (the relying party gets
 * access_denied); an upstream that is down, slow or failing, or an answer that does not verify
 * (state, nonce, iss, aud, signature, decryption), leaves the login waiting on a page that says
 * so, with a retry button. What was refused is logged with its reason, never with a token.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Config } from '../../config/schema.js';
import { EidhubError } from '../../core/errors.js';
import type { Transaction, TransactionSubject } from '../../core/transaction.js';
import { loadCatalogs, type Locales } from '../../ui/i18n.js';
import { LANGUAGES } from '../../ui/languages.js';
import type { ActionResult, Authenticator, AuthenticatorContext, AuthenticatorPlugin } from '../types.js';
import { rpKeysOf } from './rp-keys.js';
import { registerUpstreamRoutes } from './routes.js';
import { resolveSettings, type UpstreamSettings } from './settings.js';
import { classify, UpstreamClient, UpstreamRefused, type PendingRequest, type UpstreamIdentity } from './upstream-client.js';
import { renderStep, RETRY, START, type UpstreamErrorKey, type UpstreamView } from './views.js';

/** The authenticator's private state on the transaction (`authState`). */
interface UpstreamState {
  /** Why the last attempt failed; the page shows it until the person retries. */
  problem?: UpstreamErrorKey;
}
const stateOf = (tx: Transaction): UpstreamState => tx.authState as UpstreamState;

/** The claims by downstream scope (seed 002): `name` is itsme's Authentication, `profile` its Identification. */
const NAME_CLAIMS = ['name', 'family_name', 'given_name', 'idp_issuer'] as const;
const OIDC_SCOPES = { name: [...NAME_CLAIMS], profile: [...NAME_CLAIMS, 'gender', 'birthdate'] };

/** The person's attributes, in this authenticator's naming (TransactionSubject.attributes). */
interface Person {
  name: string;
  givenName?: string | undefined;
  familyName?: string | undefined;
  gender?: string | undefined;
  birthdate?: string | undefined;
  /** The upstream's issuer. */
  issuer: string;
  /** 'true' when the sandbox's simulator answered. */
  sandbox?: 'true' | undefined;
}

const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);
const defined = (record: Record<string, string | undefined>): Record<string, string> =>
  Object.fromEntries(Object.entries(record).filter((e): e is [string, string] => e[1] !== undefined));

/** UserInfo's claims, else the ID token's (both for the same subject, checked by the client). */
function personOf(identity: UpstreamIdentity, settings: UpstreamSettings): Person {
  const claim = (name: string) => str(identity.userinfo[name]) ?? str(identity.idToken[name]);
  const givenName = claim('given_name');
  const familyName = claim('family_name');
  return {
    name: claim('name') ?? [givenName, familyName].filter(Boolean).join(' '),
    givenName,
    familyName,
    gender: claim('gender'),
    birthdate: claim('birthdate'),
    issuer: settings.issuer,
    sandbox: settings.sandbox ? 'true' : undefined,
  };
}

const person = (subject: TransactionSubject) => subject.attributes as unknown as Person;

/** The REST `subject` and SAML attributes (the names Signicat's APIs use for itsme). */
function attributesOf(subject: TransactionSubject): Record<string, string> {
  const p = person(subject);
  return defined({ idpId: subject.idpId, name: p.name, firstName: p.givenName, lastName: p.familyName, dateOfBirth: p.birthdate, gender: p.gender });
}

const ERROR_KEYS: Record<'timeout' | 'unreachable' | 'error', UpstreamErrorKey> = {
  timeout: 'upstream.error.timeout',
  unreachable: 'upstream.error.unreachable',
  error: 'upstream.error.failed',
};

const sameString = (a: string | undefined, b: string): boolean => {
  const x = Buffer.from(a ?? '');
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
};

/** The catalogues every upstream authenticator shares; one of them brings them (the pages refuse a key defined twice). */
const MESSAGES = loadCatalogs(new URL('./locales/', import.meta.url));
const NO_MESSAGES = Object.fromEntries(LANGUAGES.map((lang) => [lang, {}])) as Locales;

export function createUpstreamAuthenticator(
  settings: UpstreamSettings,
  context: AuthenticatorContext,
  options: { bringsMessages: boolean } = { bringsMessages: true },
): Authenticator<UpstreamView> {
  const { transactions, logger } = context;
  const keys = () => rpKeysOf(context.store, context.now());
  const client = new UpstreamClient(settings, keys);
  const redirectOrigins = [new URL(settings.issuer).origin];

  const problemView = (error: UpstreamErrorKey): ActionResult<UpstreamView> => ({ kind: 'view', view: { kind: 'problem', name: settings.displayName, error } });

  /** Leaves the login waiting on the page that says what went wrong; logs why, never a token. */
  async function failed(tx: Transaction, err: unknown, step: string): Promise<ActionResult<UpstreamView>> {
    const e = classify(err);
    const error = e instanceof UpstreamRefused ? 'upstream.error.refused' : ERROR_KEYS[e.reason];
    const detail = e instanceof UpstreamRefused ? { code: e.code } : { reason: e.reason };
    logger.warn({ tx: tx.id, provider: settings.id, step, ...detail, problem: e.message }, `${settings.id}: ${step} failed: ${e.message}`);
    // Kept only on a login bound to a browser: one not yet bound (its first page, which writes
    // nothing) shows the problem and tries again when opened again.
    if (tx.status === 'WAITING_FOR_USER') await transactions.updateWaiting(tx, { authState: { problem: error } });
    return problemView(error);
  }

  /** The key the requests' state MACs, nonces and PKCE verifiers derive from; the same on every process. */
  const requestKey = context.serverKey('upstream-requests');
  const derive = async (use: string, value: string) =>
    createHmac('sha256', await requestKey).update(`${settings.id}:${use}:${value}`).digest('base64url');

  /** A request for the login: `{transactionId}.{random}.{mac}`, with its nonce and verifier derived from that. */
  /** The MAC a state carries after its last dot: 128 bits of the HMAC of what precedes it. */
  const stateMac = async (named: string) => (await derive('state', named)).slice(0, 22);

  async function newRequest(tx: Transaction): Promise<PendingRequest> {
    const named = `${tx.id}.${randomBytes(18).toString('base64url')}`;
    return requestOf(`${named}.${await stateMac(named)}`);
  }

  async function requestOf(state: string): Promise<PendingRequest> {
    return { state, nonce: await derive('nonce', state), verifier: await derive('pkce-verifier', state) };
  }

  /** Whether `state` is one this authenticator made for the login `tx` (its MAC checked in constant time). */
  async function isOurs(tx: Transaction, state: string | undefined): Promise<boolean> {
    if (!state?.startsWith(`${tx.id}.`)) return false;
    const cut = state.lastIndexOf('.');
    return sameString(state.slice(cut + 1), await stateMac(state.slice(0, cut)));
  }

  /** Sends the browser to the upstream with a new request (nothing is written: see the header). */
  async function begin(tx: Transaction): Promise<ActionResult<UpstreamView>> {
    const pending = await newRequest(tx);
    let url: string;
    try {
      url = await client.authorizationUrl(pending);
    } catch (err) {
      return failed(tx, err, 'authorization request');
    }
    const origin = new URL(url).origin;
    if (!redirectOrigins.includes(origin)) redirectOrigins.push(origin);
    // A retry (a form, so the login is bound and waiting) leaves the failure behind.
    if (tx.status === 'WAITING_FOR_USER' && stateOf(tx).problem) await transactions.updateWaiting(tx, { authState: {} });
    return { kind: 'redirect', url };
  }

  /** The upstream's answer (the browser back at the callback). */
  async function answer(tx: Transaction, query: Record<string, string>): Promise<ActionResult<UpstreamView>> {
    if (!(await isOurs(tx, query.state))) {
      // Not the answer to a request made for this login (forged): refused before anything is sent upstream.
      logger.warn({ tx: tx.id, provider: settings.id, code: 'state_mismatch' }, `${settings.id}: answer refused: its state is not one made for this login`);
      return problemView('upstream.error.refused');
    }
    const pending = await requestOf(query.state!);
    // The code is the upstream's to use once; a replayed answer fails there and shows the retry page.
    const current = stateOf(tx).problem ? await transactions.updateWaiting(tx, { authState: {} }) : tx;
    if (query.error !== undefined) return declined(current, query.error);
    let identity: UpstreamIdentity;
    try {
      identity = await client.exchange(query, pending);
    } catch (err) {
      return failed(current, err, 'token exchange');
    }
    const sub = str(identity.idToken.sub);
    if (!sub) return failed(current, new UpstreamRefused('missing_sub', 'the ID token has no subject'), 'token exchange');
    const p = personOf(identity, settings);
    const subject: TransactionSubject = {
      id: context.subjectOf(`${settings.issuer} ${sub}`),
      idpId: sub,
      attributes: defined({ ...p }),
    };
    return { kind: 'finished', tx: await transactions.transition(current, 'SUCCESS', { subject, loa: settings.loa }) };
  }

  /** The upstream answered with an error instead of a code. */
  async function declined(tx: Transaction, error: string): Promise<ActionResult<UpstreamView>> {
    if (error === 'access_denied') {
      logger.info({ tx: tx.id, provider: settings.id }, `${settings.id}: the person declined`);
      const ended = await transactions.transition(tx, 'ABORT', { error: { code: 'access_denied', message: `the person declined at ${settings.displayName}` } });
      return { kind: 'finished', tx: ended };
    }
    if (error === 'temporarily_unavailable' || error === 'server_error') {
      return failed(tx, new UpstreamRefused(error, `the upstream answered ${error}`), 'authorization');
    }
    logger.warn({ tx: tx.id, provider: settings.id, code: error }, `${settings.id}: the upstream refused the request: ${error}`);
    return { kind: 'finished', tx: await transactions.fail(tx, { code: 'upstream_error', message: `${settings.displayName} refused the login request` }) };
  }

  return {
    id: settings.id,
    loa: settings.loa,
    amr: ['external'],
    displayText: settings.displayName,
    // The upstream's pages (itsme's, the simulator's) refuse to be framed.
    framable: false,
    issuer: settings.issuer,
    attributes: ['idpId', 'name', 'firstName', 'lastName', 'dateOfBirth', 'gender'],
    oidcScopes: OIDC_SCOPES,
    providerParams: [],
    actions: [START, RETRY],
    redirectOrigins,
    messages: options.bringsMessages ? MESSAGES : NO_MESSAGES,
    claims: {
      oidc: (subject) => {
        const p = person(subject);
        return {
          ...defined({ name: p.name, family_name: p.familyName, given_name: p.givenName, gender: p.gender, birthdate: p.birthdate, idp_issuer: p.issuer }),
          ...(p.sandbox === 'true' ? { sandbox: true } : {}),
        };
      },
      rest: attributesOf,
      saml: attributesOf,
    },

    prepare: () => ({ ok: true, providerParams: {}, prefilledInput: {} }),

    async view(tx) {
      const { problem } = stateOf(tx);
      return problem ? { kind: 'problem', name: settings.displayName, error: problem } : { kind: 'start', name: settings.displayName };
    },

    render: renderStep,

    act(tx, action) {
      if (action !== START && action !== RETRY) throw new EidhubError(404, 'unknown_action', `unknown step "${action}"`);
      return begin(tx);
    },

    callback: (tx, query) => answer(tx, query),

    // A failed attempt stays on its page until the person retries; otherwise straight to the upstream.
    enter: async (tx) => (stateOf(tx).problem ? undefined : begin(tx)),

    register: (app) => registerUpstreamRoutes(app, settings.id, keys, context.config.rateLimits.pages),
  };
}

/** One authenticator per configured upstream provider. */
export function upstreamPlugins(config: Config): AuthenticatorPlugin[] {
  return config.upstreamProviders.map((p, i) => ({
    id: p.id,
    create: (context) => createUpstreamAuthenticator(resolveSettings(p, config.publicUrl), context, { bringsMessages: i === 0 }),
  }));
}
