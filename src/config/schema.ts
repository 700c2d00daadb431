/**
 * Every option eidhub has, with its default and a line of documentation. This schema is the one
 * place defaults live; docs/configuration.md is generated from it (`npm run docs:config`).
 */
import { z } from 'zod';
import { secretString } from './secret-reference.js';
import { strictObject } from './unknown-keys.js';

const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

/** Whether a URL's hostname is this machine: localhost, 127.0.0.0/8 or [::1]. */
export function isLoopbackHost(hostname: string): boolean {
  return LOOPBACK_HOSTS.has(hostname) || /^127(?:\.\d{1,3}){3}$/.test(hostname);
}

/** An absolute https URL, or http on a loopback host (RFC 8252 §7.3). */
export function isAllowedRedirectUri(value: string): boolean {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return false;
  }
  if (url.hash) return false;
  if (url.protocol === 'https:') return true;
  return url.protocol === 'http:' && LOOPBACK_HOSTS.has(url.hostname);
}

const redirectUri = z
  .string()
  .refine(isAllowedRedirectUri, { message: 'must be an absolute https URL (http is allowed for localhost and 127.0.0.1), without a fragment' });

/** An origin as URL.origin spells it (`https://app.example.com`, a port if not the default), https or loopback http. */
function isWebOrigin(value: string): boolean {
  return URL.canParse(value) && new URL(value).origin === value && isAllowedRedirectUri(value);
}

/**
 * A client secret, or a webhook's key: given itself or as `{"env"}` / `{"file"}` (secret-reference.ts).
 * A secret field transforms its input, and zod's JSON Schema of the input (the docs, the Admin
 * API) leaves out a `default` above a transform, so what holds a secret takes `.prefault`.
 */
const secret = secretString(z.string().min(16, { message: 'must be at least 16 characters' }).max(512, { message: 'must be at most 512 characters' }));

/** What a client id may be (config and run-time clients alike): anything else names no client. */
export const CLIENT_ID_PATTERN = /^[A-Za-z0-9._~-]{1,128}$/;

const clientId = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[A-Za-z0-9._~-]+$/, { message: 'may contain only letters, digits and . _ ~ -' });

/** An alphanumeric sender id (1–11 of A–Z a–z 0–9 and space) or a number in E.164. */
export const SENDER_PATTERN = /^(?:[A-Za-z0-9 ]{1,11}|\+[1-9][0-9]{6,14})$/;
const sender = z
  .string()
  .refine((v) => SENDER_PATTERN.test(v) && !/^\d+$/.test(v) && v.trim() === v, {
    message: 'must be an alphanumeric sender of at most 11 characters (letters, digits, spaces; not digits only) or an E.164 number',
  });

const smsConsole = strictObject({
  provider: z.literal('console').describe('Prints messages to the log and keeps them in the sandbox inbox. For development only.'),
  from: sender.default('eidhub').describe('Default sender name.'),
});

const smsTwilio = strictObject({
  provider: z.literal('twilio').describe('Sends with the Twilio Messages API.'),
  accountSid: z.string().regex(/^AC[0-9A-Za-z]{1,64}$/, { message: 'must be a Twilio account SID (AC…)' }).describe('Twilio account SID.'),
  authToken: secretString().describe('Twilio auth token (a secret; never logged). The token itself, `{"env": "NAME"}` or `{"file": "/run/secrets/…"}`.'),
  from: sender.describe('Default sender: an alphanumeric sender id or a Twilio number.'),
  baseUrl: z.url({ protocol: /^https?$/ }).default('https://api.twilio.com').describe('Twilio API base URL; override for a regional edge or a test server.'),
  timeoutMs: z.number().int().min(100).max(60_000).default(10_000).describe('Timeout of one HTTP request to Twilio.'),
});

const smsWebhook = strictObject({
  provider: z.literal('webhook').describe('POSTs each message as JSON to your own endpoint.'),
  url: z.url({ protocol: /^https?$/ }).describe('Endpoint that receives `{to, from, body, id, timestamp}`.'),
  secret: secret.describe('Key for the `X-Eidhub-Signature` HMAC-SHA256 header (a secret; never logged).'),
  from: sender.default('eidhub').describe('Default sender name.'),
  timeoutMs: z.number().int().min(100).max(60_000).default(10_000).describe('Timeout of one HTTP request.'),
});

export const smsSchema = z.discriminatedUnion('provider', [smsConsole, smsTwilio, smsWebhook]);
export type SmsConfig = z.infer<typeof smsSchema>;

const storageSchema = z.discriminatedUnion('driver', [
  strictObject({
    driver: z.literal('sqlite').describe('Embedded SQLite database (WAL mode).'),
    path: z.string().min(1).default('./data/eidhub.db').describe('Database file; its folder is created if missing.'),
  }),
  strictObject({
    driver: z.literal('postgres').describe('PostgreSQL server; lets several eidhub processes share state.'),
    url: secretString(z.string().regex(/^postgres(ql)?:\/\//, { message: 'must be a postgres:// URL' })).describe('Connection URL (it may hold a password: `{"env": "NAME"}` or `{"file": "…"}` keep it out of the file).'),
    poolSize: z.number().int().min(1).max(100).default(10).describe('Connections per process.'),
  }),
]);

/** One OIDC client, as the config file and the client registry (src/clients/registry.ts) take it. */
export const oidcClientSchema = strictObject({
  clientId: clientId.describe('The client_id.'),
  clientName: z.string().min(1).max(100).optional().describe('Shown to the person on the hosted pages.'),
  secrets: z.array(secret).max(10).prefault([]).describe('Client secrets, all valid at once (rotate without downtime). Each the secret itself, `{"env": "NAME"}` or `{"file": "/run/secrets/…"}`.'),
  public: z
    .boolean()
    .optional()
    .describe('`true`: a public client (a single-page or native app, which cannot keep a secret): no secrets, PKCE always. A client without secrets is public either way, but say so: one without `"public": true` is warned about at start, as a confidential client whose secrets were forgotten.'),
  redirectUris: z.array(redirectUri).min(1).describe('Registered redirect URIs, matched exactly.'),
  postLogoutRedirectUris: z.array(redirectUri).default([]).describe('Registered post-logout redirect URIs.'),
  grantTypes: z
    .array(z.enum(['authorization_code', 'refresh_token']))
    .min(1)
    .default(['authorization_code'])
    .describe('Grant types; add refresh_token to receive refresh tokens.'),
  scopes: z
    .array(z.enum(['openid', 'idp-id', 'phone', 'name', 'profile', 'offline_access']))
    .default(['openid', 'idp-id', 'phone'])
    .describe('Scopes the client may request.'),
  pkce: z.enum(['required', 'optional']).optional().describe('PKCE S256: `required`, or `optional` (confidential clients only; the default for them). Public clients always need it.'),
  idTokenClaims: z
    .array(z.enum(['idp_id', 'idp_issuer', 'phone_number', 'name', 'family_name', 'given_name', 'gender', 'birthdate']))
    .default([])
    .describe('Claims put into the ID token as well as UserInfo (still limited by the granted scopes).'),
  idTokenSigningAlg: z.enum(['RS256', 'ES256']).default('RS256').describe('ID token signature algorithm.'),
  allowedProviders: z
    .array(z.string().min(1).max(64))
    .min(1)
    .optional()
    .describe('Providers the client may use (e.g. `["otp-sms"]`); default every enabled one. Without an `idp:` acr value a person allowed several chooses among them.'),
})
  .superRefine((c, ctx) => {
    if (c.public === true && c.secrets.length > 0) {
      ctx.addIssue({ code: 'custom', path: ['public'], message: 'a public client has no secrets; remove "public": true or the secrets' });
    }
    if (c.secrets.length === 0 && c.pkce === 'optional') {
      ctx.addIssue({ code: 'custom', path: ['pkce'], message: 'a public client (no secrets) always requires PKCE; remove "optional"' });
    }
  });
export type OidcClientConfig = z.infer<typeof oidcClientSchema>;
/** An OIDC client's settings without its secrets: what the registry keeps, since it keeps secrets only as hashes. */
export type OidcClientSettings = Omit<OidcClientConfig, 'secrets'>;

/** What an API client may be allowed to call. */
export const API_PERMISSIONS = ['authentication-rest-api', 'admin'] as const;
export type ApiPermission = (typeof API_PERMISSIONS)[number];

/** One REST API client, as the config file and the client registry take it. */
export const apiClientSchema = strictObject({
  clientId: clientId.describe('The API client_id.'),
  secrets: z.array(secret).min(1).max(10).describe('Client secrets, all valid at once.'),
  permissions: z
    .array(z.enum(API_PERMISSIONS))
    .default([])
    .describe('What the client may call: `authentication-rest-api` the REST API (scopes `auth-rest-api`, `signicat-api`), `admin` the Admin API under /admin/api (scope `eidhub-admin`).'),
  allowedOrigins: z
    .array(z.string().refine(isWebOrigin, { message: 'must be an origin like https://app.example.com (scheme, host and port only; http only on localhost)' }))
    .max(20)
    .optional()
    .describe('Origins the REST API accepts in a session\'s `callbackUrls` and `returnUrl` (`https://app.example.com`); a URL of another origin is refused with 400 naming the field. Omitted: any https URL, which lets a leaked client secret send people anywhere, so list them in production.'),
});
export type ApiClientConfig = z.infer<typeof apiClientSchema>;
export type ApiClientSettings = Omit<ApiClientConfig, 'secrets'>;

/** A prefix of E.164 numbers: `+` and 1 to 14 digits. */
const e164Prefix = z.string().regex(/^\+\d{1,14}$/, 'must be + and 1 to 14 digits, e.g. +4477');

/** A send budget: at most `limit` SMS codes in each fixed window of `windowSeconds`. */
function sendBudget(what: string, limit: number, windowSeconds: number) {
  return strictObject({
    limit: z.number().int().min(1).max(10_000_000).default(limit).describe(`Codes sent ${what} per window at most.`),
    windowSeconds: z.number().int().min(1).max(86_400).default(windowSeconds).describe('The window, in seconds (fixed windows: a budget frees up at the end of its window).'),
  })
    .prefault({})
    .describe(`Codes sent ${what}: default ${limit} per ${windowSeconds} s.`);
}

const otpBudgetsSchema = strictObject({
  perAddress: sendBudget('at the request of one client IP address (hosted pages and REST headless API; not CIBA, whose address is the relying party\'s server)', 10, 600),
  perPrefix: sendBudget('to the numbers of one prefix (see `otp.prefixDigits`)', 100, 3600),
  perCountry: sendBudget('to the numbers of one country (numbers of no one country, such as +800, share one budget)', 2000, 3600),
  perClient: sendBudget('for the logins of one client (OIDC, REST API or CIBA realm client): a leaked client secret is not an SMS pump', 2000, 3600),
  globalPerMinute: sendBudget('by this deployment, all processes together, per minute', 300, 60),
  globalPerDay: sendBudget('by this deployment, all processes together, per day', 20_000, 86_400),
});

const conversionGuardSchema = strictObject({
  enabled: z.boolean().default(true).describe('Pause a prefix whose codes are seldom verified (SMS pumping sends codes nobody types).'),
  windowSeconds: z.number().int().min(60).max(86_400).default(3600).describe('The sliding window over which codes sent and codes verified are counted per prefix.'),
  minSends: z.number().int().min(1).max(100_000).default(30).describe('Codes sent to a prefix in the window before its conversion is judged.'),
  minConversion: z.number().min(0).max(1).default(0.2).describe('Codes verified / codes sent below which the prefix is paused (0.2: fewer than one code in five typed back).'),
  pauseSeconds: z.number().int().min(60).max(86_400).default(900).describe('How long a paused prefix gets no code; then it resumes with fresh counts.'),
});

const otpSchema = strictObject({
  codeTtlSeconds: z.number().int().min(30).max(900).default(180).describe('How long a code is valid.'),
  maxAttempts: z.number().int().min(1).max(10).default(3).describe('Wrong attempts that void a code.'),
  maxSends: z.number().int().min(1).max(10).default(3).describe('Codes sent per login at most.'),
  resendAfterSeconds: z.number().int().min(0).max(300).default(30).describe('Wait before another code may be sent.'),
  loginWindowSeconds: z.number().int().min(60).max(3600).default(300).describe('Time a person has to finish an SMS login started over OpenID Connect.'),
  maxSendsPerNumberPerHour: z.number().int().min(1).max(1000).default(10).describe('Codes sent to one number per hour, across logins (SMS pumping guard).'),
  allowedCountries: z
    .array(z.string().regex(/^[A-Z]{2}$/))
    .default([])
    .describe('ISO 3166 country codes numbers may belong to; empty allows every country.'),
  allowedPrefixes: z
    .array(e164Prefix)
    .default([])
    .describe('E.164 prefixes (e.g. `+4477`) numbers must start with; empty allows every prefix (within `allowedCountries`).'),
  prefixDigits: z
    .number()
    .int()
    .min(2)
    .max(10)
    .default(6)
    .describe('Digits of a number, country code included, that make its prefix for the per-prefix budget and the conversion guard (6: `+447700` of +447700900123).'),
  trustedPrefixes: z
    .array(e164Prefix)
    .default([])
    .describe('E.164 prefixes (e.g. a test range, or the operator\'s own numbers) that neither the per-prefix and per-country budgets nor the conversion guard count or pause; the per-address, per-client and global budgets still apply.'),
  budgets: otpBudgetsSchema
    .prefault({})
    .describe('Send budgets against SMS pumping, kept in the store (shared by every process): a code over any of them is not sent (429 with Retry-After, audit event `otp.budget_exceeded`).'),
  conversionGuard: conversionGuardSchema
    .prefault({})
    .describe('Per prefix, codes sent against codes verified; a prefix below the threshold is paused for a while (audit event `otp.prefix_paused`).'),
});

/** One address or CIDR range (`10.0.0.0/8`, `::1`, `fd00::/8`), as proxy-addr reads them. */
const PROXY_ADDRESS = /^(?:(?:\d{1,3}\.){3}\d{1,3}(?:\/(?:\d|[12]\d|3[0-2]))?|[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*(?:\/(?:\d{1,2}|1[01]\d|12[0-8]))?)$/;

export const trustProxySchema = z
  .union([
    z.boolean(),
    z.number().int().min(1).max(10),
    z
      .array(z.string().regex(PROXY_ADDRESS, { message: 'must be an IP address or a CIDR range of your proxies, e.g. 10.0.0.0/8 or fd00::/8' }))
      .min(1),
  ], { message: 'must be false, a hop count (1 for one proxy in front of eidhub), or a list of your proxies\' addresses or CIDR ranges' })
  .default(false)
  .describe(
    'Which reverse proxies may say who the client is (X-Forwarded-For, -Proto, -Host): `false` (none: the client is the connection\'s address), a list of the proxies\' addresses or CIDR ranges (`["10.0.0.0/8"]`: the client is the last address that is not one of them; the safest form), or a hop count (`1`: one proxy in front of eidhub, the client is the last address it appended; only when nothing but the proxy can reach eidhub, since the connection\'s peer is trusted whoever it is). `true` trusts every hop, so any client can choose the address that rate limits and budgets count it by: eidhub logs a warning at start.',
  );
export type TrustProxy = z.output<typeof trustProxySchema>;

/** A fixed-window limit per client address. */
const windowLimit = (max: number, windowSeconds: number, what: string) =>
  strictObject({
    max: z.number().int().min(1).max(100_000).default(max).describe(`Requests per window from one client address (${what}).`),
    windowSeconds: z.number().int().min(1).max(86_400).default(windowSeconds).describe('Length of the window, in seconds.'),
  }).prefault({});

const rateLimitsSchema = strictObject({
  pages: windowLimit(60, 60, 'hosted-page form posts and callbacks, itsme\'s callbacks; each route counted apart').describe('The hosted pages\' form posts and callbacks.'),
  headless: windowLimit(30, 60, 'each headless step of the REST API, `/auth/rest/sessions/{id}/<authenticator>/<step>`').describe('The REST API\'s headless steps.'),
  saml: windowLimit(120, 60, 'SAML login and logout requests').describe('The SAML identity provider\'s login and logout endpoints.'),
  clientAuthFailures: strictObject({
    perAddress: z
      .number()
      .int()
      .min(1)
      .max(100_000)
      .default(10)
      .describe('Wrong client secrets from one address (an IPv6 address: its /64) in the window; once reached, that address is answered 429 at every token, introspection, revocation and PAR endpoint (the issuer\'s and the realms\'), right secret or not, until the window ends.'),
    perClient: z
      .number()
      .int()
      .min(1)
      .max(100_000)
      .default(20)
      .describe('Wrong secrets for one client in the window, from any address; once reached, further wrong secrets for it, and any attempt from an address that presented a wrong one for it in the window, are answered 429. The right secret from an address with no failure keeps working.'),
    windowSeconds: z.number().int().min(1).max(86_400).default(300).describe('Length of the window, in seconds.'),
  })
    .prefault({})
    .describe('Failed client authentications (a known client\'s wrong secret); counted in the store, a successful authentication writes nothing.'),
});
export type RateLimitsConfig = z.output<typeof rateLimitsSchema>;

const auditSchema = strictObject({
  retentionDays: z
    .number()
    .int()
    .min(1)
    .max(3650)
    .default(90)
    .describe('How long audit events are kept; older ones are removed by the purge that runs every 10 minutes.'),
});

const tokensSchema = strictObject({
  authorizationCodeTtlSeconds: z.number().int().min(10).max(600).default(60).describe('Authorization code lifetime.'),
  accessTokenTtlSeconds: z.number().int().min(60).max(86_400).default(600).describe('Access token lifetime.'),
  idTokenTtlSeconds: z.number().int().min(60).max(86_400).default(3600).describe('ID token lifetime.'),
  refreshTokenTtlSeconds: z.number().int().min(300).max(31_536_000).default(1_209_600).describe('Refresh token lifetime.'),
  clientCredentialsTtlSeconds: z.number().int().min(60).max(86_400).default(600).describe('API access token lifetime.'),
  sessionTtlSeconds: z.number().int().min(60).max(2_592_000).default(3600).describe('Single sign-on session lifetime at the OpenID Provider.'),
});

/**
 * One SAML service provider. Its ACS URLs, bindings, certificates and attribute sets come from its
 * metadata, which the loader reads (metadataFile) and checks at start (src/config/load.ts).
 */
const samlServiceProviderSchema = strictObject({
  entityId: z.string().min(1).max(1024).describe('The SP\'s entityID; must equal the entityID of its metadata.'),
  metadata: z
    .string()
    .min(1)
    .optional()
    .describe('The SP\'s metadata XML: an md:EntityDescriptor, or an md:EntitiesDescriptor holding exactly one. Give this or `metadataFile`.'),
  metadataFile: z
    .string()
    .min(1)
    .optional()
    .describe('A file holding the SP\'s metadata, relative to the config file\'s folder (or absolute). Give this or `metadata`.'),
  requireSignedRequests: z
    .boolean()
    .default(false)
    .describe('Refuse AuthnRequests without a valid signature. A request that carries a signature must verify either way.'),
  signResponse: z.boolean().default(true).describe('Sign the Response as well as the Assertion (the Assertion is always signed).'),
  encryptAssertions: z
    .boolean()
    .optional()
    .describe('Encrypt assertions to the SP\'s encryption certificate (RSA). Default: when its metadata has one; `true` without one is an error.'),
});
export type SamlServiceProviderInput = z.output<typeof samlServiceProviderSchema>;
/**
 * A service provider with its metadata's text: what the Admin API takes and the Store keeps. No
 * `metadataFile`: eidhub reads no file (nor URL) that a request names.
 */
export const samlServiceProviderEntrySchema = samlServiceProviderSchema
  .omit({ metadataFile: true })
  .extend({ metadata: z.string().min(1).describe('The SP\'s metadata XML: an md:EntityDescriptor, or an md:EntitiesDescriptor holding exactly one.') });
export type SamlServiceProviderEntry = z.output<typeof samlServiceProviderEntrySchema>;
/** A service provider after loading: `metadata` is the metadata text, read from `metadataFile` (then an absolute path) when given that way. */
export type SamlServiceProviderConfig = Omit<SamlServiceProviderInput, 'metadata'> & { metadata: string };

const samlSchema = strictObject({
  assertionLifetimeSeconds: z.number().int().min(30).max(300).default(300).describe('How long an assertion may be used: its NotOnOrAfter after its IssueInstant.'),
  clockSkewSeconds: z
    .number()
    .int()
    .min(0)
    .max(180)
    .default(180)
    .describe('Clock difference tolerated with SPs, on the messages they send: an AuthnRequest or logout message may be issued this far in the future, or this much older than `requestMaxAgeSeconds`.'),
  requestMaxAgeSeconds: z.number().int().min(30).max(3600).default(300).describe('How old an AuthnRequest or logout message (its IssueInstant) may be.'),
  sessionTtlSeconds: z.number().int().min(60).max(2_592_000).default(28_800).describe('Single sign-on session lifetime at the SAML IdP.'),
  keyRolloverSeconds: z
    .number()
    .int()
    .min(0)
    .max(7_776_000)
    .default(604_800)
    .describe('After `eidhub keys rotate`, how long the new signing certificate is in the IdP metadata before it signs (SPs load it meanwhile); 0 signs at once.'),
});

/** Refuses a second item of `list` (found at `path`) with the same `key` as an earlier one, naming both. */
function flagDuplicates<K extends string, T extends Record<K, string>>(ctx: z.RefinementCtx, list: readonly T[], path: string, key: K): void {
  const seen = new Map<string, number>();
  list.forEach((item, i) => {
    const value = item[key];
    const prior = seen.get(value);
    if (prior === undefined) seen.set(value, i);
    else ctx.addIssue({ code: 'custom', path: [path, i, key], message: `duplicate ${key} "${value}" (also at ${path}[${prior}])` });
  });
}

/** A phone number in E.164 form: +, a country code, at most 15 digits in all. */
const E164_PATTERN = /^\+[1-9][0-9]{6,14}$/;
/** The client_id of the admin console's own OIDC client (src/admin/console/login.ts), which no config client may take. */
export const CONSOLE_CLIENT_ID = 'eidhub-console';

/** What a realm's name may be: it is a path segment of the realm's issuer, `{publicUrl}/auth/realms/{name}`. */
export const REALM_NAME_PATTERN = /^[a-z0-9][a-z0-9_-]{0,63}$/;

/** The scopes a realm client may request (seed 004): `ip:phone_verify` gives the verified phone number. */
export const REALM_SCOPES = ['openid', 'ip:phone_verify'] as const;

/** One client of a realm: an app backend that starts CIBA requests (CONTRACT §7); as the config file and the client registry take it. */
export const realmClientSchema = strictObject({
  clientId: clientId.describe('The client_id.'),
  clientName: z.string().min(1).max(100).optional().describe('A display name for the client.'),
  secrets: z.array(secret).min(1).max(10).describe('Client secrets, all valid at once (rotate without downtime); sent as `client_secret` or with HTTP Basic.'),
  scopes: z.array(z.enum(REALM_SCOPES)).min(1).default(['openid', 'ip:phone_verify']).describe('Scopes the client may request.'),
  deliveryMode: z
    .enum(['poll', 'ping'])
    .default('poll')
    .describe('CIBA token delivery: `poll` (the client polls the token endpoint) or `ping` (eidhub also posts `{"auth_req_id"}` to `notificationEndpoint` once the person is done).'),
  notificationEndpoint: redirectUri
    .optional()
    .describe('`ping` only: where eidhub posts, with `Authorization: Bearer {client_notification_token}`. https, or http on localhost and 127.0.0.1.'),
})
  .superRefine((c, ctx) => {
    if (c.deliveryMode === 'ping' && c.notificationEndpoint === undefined) {
      ctx.addIssue({ code: 'custom', path: ['notificationEndpoint'], message: 'deliveryMode "ping" needs a notificationEndpoint' });
    }
    if (c.deliveryMode === 'poll' && c.notificationEndpoint !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['notificationEndpoint'], message: 'only a client with deliveryMode "ping" is notified; remove it or set deliveryMode "ping"' });
    }
  });
export type RealmClientConfig = z.infer<typeof realmClientSchema>;
/** A realm client's settings without its secrets, as the registry keeps them. */
export type RealmClientSettings = Omit<RealmClientConfig, 'secrets'>;

/**
 * A realm at Keycloak's paths (CONTRACT §7): its own issuer `{publicUrl}/auth/realms/{name}`,
 * its own clients, CIBA with the SMS channel.
 */
const realmSchema = strictObject({
  name: z
    .string()
    .regex(REALM_NAME_PATTERN, { message: 'must be 1–64 of a–z 0–9 _ - (beginning with a letter or digit)' })
    .describe('The realm\'s name: its issuer is `{publicUrl}/auth/realms/{name}`.'),
  allowUrlsInMessage: z
    .boolean()
    .default(false)
    .describe('Allow links in the SMS text a client sends as `message`. Off, a message holding a URL or a domain name is refused (a code next to a link is what phishing looks like).'),
  pollIntervalSeconds: z
    .number()
    .int()
    .min(1)
    .max(60)
    .default(5)
    .describe('The `interval` of CIBA responses: polling the token endpoint more often than this answers `slow_down`.'),
  clients: z.array(realmClientSchema).prefault([]).describe('The realm\'s clients.'),
})
  .superRefine((r, ctx) => flagDuplicates(ctx, r.clients, 'clients', 'clientId'));
export type RealmConfig = z.infer<typeof realmSchema>;

/** The client authentication methods an upstream OpenID Provider may require of eidhub. */
export const UPSTREAM_CLIENT_AUTH = ['private_key_jwt', 'client_secret_basic'] as const;
/** JWE content encryption eidhub decrypts (key management is always RSA-OAEP), or `none`. */
export const UPSTREAM_ENCRYPTION = ['A128CBC-HS256', 'A256GCM', 'none'] as const;

/** What an upstream provider's id may be: it names the authenticator (`idp:{id}`) and a path segment. */
export const UPSTREAM_ID_PATTERN = /^[a-z0-9][a-z0-9_-]{0,31}$/;

/**
 * One upstream OpenID Provider eidhub logs people in with (CONTRACT §8): an authenticator called
 * `id`. `preset: "itsme"` (the default for the id `itsme`) switches on what itsme's OP requires:
 * private_key_jwt, a signed request object, encrypted ID tokens and UserInfo. `simulator: true`
 * is the sandbox's built-in itsme simulator (`{publicUrl}/sandbox/itsme`), which needs nothing else.
 */
const upstreamProviderSchema = strictObject({
  id: z
    .string()
    .regex(UPSTREAM_ID_PATTERN, { message: 'must be 1–32 of a–z 0–9 _ - (beginning with a letter or digit)' })
    .describe('The provider name integrators use (`acr_values=idp:{id}`, `allowedProviders`) and the `idp` claim.'),
  simulator: z.boolean().default(false).describe('Use the built-in itsme simulator (sandbox only) instead of a real OP; then give no issuer, clientId or secret.'),
  preset: z
    .enum(['itsme', 'generic'])
    .optional()
    .describe('`itsme`: private_key_jwt, signed request object, encrypted ID token and UserInfo, scopes `openid profile`. Default: `itsme` for the id itsme, else `generic`.'),
  displayName: z.string().min(1).max(60).optional().describe('The provider\'s name on the hosted pages. Default: itsme® for the itsme preset, else the id.'),
  issuer: z
    .string()
    .refine(isAllowedRedirectUri, { message: 'must be an absolute https URL (http only on localhost or 127.0.0.1), the upstream OP\'s issuer' })
    .refine((v) => !v.endsWith('/.well-known/openid-configuration'), { message: 'give the issuer, not its discovery document' })
    .optional()
    .describe('The upstream OP\'s issuer; its metadata is read from `{issuer}/.well-known/openid-configuration`.'),
  clientId: clientId.optional().describe('eidhub\'s client_id at the upstream OP.'),
  clientAuth: z
    .enum(UPSTREAM_CLIENT_AUTH)
    .optional()
    .describe('How eidhub authenticates at the token endpoint: `private_key_jwt` (its key is published at `{publicUrl}/auth/upstream/jwks`) or `client_secret_basic`. Default: private_key_jwt with the itsme preset, else client_secret_basic.'),
  clientSecret: secret.optional().describe('`client_secret_basic` only: the secret (never logged).'),
  requestObject: z.boolean().optional().describe('Send the authorization request as a signed (RS256) request object. Default: on with the itsme preset.'),
  idTokenEncryption: z
    .enum(UPSTREAM_ENCRYPTION)
    .optional()
    .describe('Content encryption of the ID token and UserInfo the upstream encrypts to eidhub\'s RSA-OAEP key; `none` when it does not. Default: A128CBC-HS256 with the itsme preset, else none.'),
  scopes: z
    .array(z.string().regex(/^[\x21\x23-\x5B\x5D-\x7E]+$/, { message: 'must be a scope token (no spaces or quotes)' }))
    .min(1)
    .optional()
    .describe('Scopes asked of the upstream (`openid` among them). Default: `openid profile`.'),
  timeoutMs: z.number().int().min(200).max(60_000).default(10_000).describe('Timeout of one request to the upstream (discovery, token, UserInfo, keys); past it the person sees a page with a retry button.'),
})
  .superRefine((p, ctx) => {
    const issue = (path: string, message: string) => ctx.addIssue({ code: 'custom', path: [path], message });
    if (p.simulator) {
      for (const key of ['issuer', 'clientId', 'clientSecret'] as const) {
        if (p[key] !== undefined) issue(key, 'the simulator runs inside eidhub; remove this or set simulator to false');
      }
      return;
    }
    if (p.issuer === undefined) issue('issuer', 'required (or set simulator: true)');
    if (p.clientId === undefined) issue('clientId', 'required (or set simulator: true)');
    const preset = p.preset ?? (p.id === 'itsme' ? 'itsme' : 'generic');
    const auth = p.clientAuth ?? (preset === 'itsme' ? 'private_key_jwt' : 'client_secret_basic');
    if (auth === 'client_secret_basic' && p.clientSecret === undefined) issue('clientSecret', 'required with clientAuth client_secret_basic');
    if (auth !== 'client_secret_basic' && p.clientSecret !== undefined) issue('clientSecret', 'only used with clientAuth client_secret_basic; remove it');
    if (preset === 'itsme') {
      if (auth !== 'private_key_jwt') issue('clientAuth', 'the itsme preset needs private_key_jwt (itsme accepts no other)');
      if (p.requestObject === false) issue('requestObject', 'the itsme preset needs a signed request object (itsme requires one)');
      if (p.idTokenEncryption === 'none') issue('idTokenEncryption', 'the itsme preset needs encrypted ID tokens (itsme always encrypts)');
    }
    if (p.scopes && !p.scopes.includes('openid')) issue('scopes', 'must include openid');
  });
export type UpstreamProviderInput = z.output<typeof upstreamProviderSchema>;

export const configSchema = strictObject({
  publicUrl: z
    .url({ protocol: /^https?$/ })
    .optional()
    .describe('The URL integrators and browsers use; the OIDC issuer is `{publicUrl}/auth/open`. Default `http://localhost:{port}`.'),
  port: z.number().int().min(0).max(65_535).default(3000).describe('TCP port.'),
  host: z.string().min(1).default('localhost').describe('Address to listen on (`0.0.0.0` for every interface).'),
  trustProxy: trustProxySchema,
  rateLimits: rateLimitsSchema.prefault({}).describe('Request limits, counted in the store (shared by every process on PostgreSQL), per client address as trustProxy determines it.'),
  sandbox: z.boolean().default(false).describe('Sandbox mode: demo clients (each with a random secret kept in the store, and with the console SMS provider also the published one the showcase app uses), the demo realm ipification, the SMS inbox page. Never in production.'),
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info').describe('Log level.'),
  accountId: z.string().min(1).max(64).default('a-eidhub-0001').describe('The account id reported by the REST API.'),
  storage: storageSchema.prefault({ driver: 'sqlite', path: './data/eidhub.db' }).describe('Where state is kept.'),
  sms: smsSchema.prefault({ provider: 'console', from: 'eidhub' }).describe('How SMS are sent.'),
  otp: otpSchema.prefault({}).describe('SMS one-time code rules.'),
  tokens: tokensSchema.prefault({}).describe('Token lifetimes.'),
  audit: auditSchema.prefault({}).describe('The audit log.'),
  oidcFastPaths: z
    .boolean()
    .default(true)
    .describe(
      'Where eidhub takes a measured shortcut past oidc-provider (its routes before Fastify, API token requests answered directly, client authentication without replaying the body, the interaction result stored directly; see bench/FINDINGS.md). `false` takes oidc-provider\'s own path everywhere, at a cost in throughput.',
    ),
  defaultLanguage: z.enum(['en', 'da', 'nl', 'fi', 'el', 'no', 'sv']).default('en').describe('Language when neither the request nor the browser names a supported one.'),
  oidcClients: z.array(oidcClientSchema).prefault([]).describe('OpenID Connect clients.'),
  apiClients: z.array(apiClientSchema).prefault([]).describe('REST API clients.'),
  samlServiceProviders: z.array(samlServiceProviderSchema).default([]).describe('SAML 2.0 service providers.'),
  saml: samlSchema.prefault({}).describe('SAML 2.0 identity provider rules.'),
  realms: z.array(realmSchema).prefault([]).describe('Realms at Keycloak\'s paths, `{publicUrl}/auth/realms/{name}`, for phone number verification by CIBA over SMS.'),
  upstreamKeyRolloverSeconds: z
    .number()
    .int()
    .min(0)
    .max(2_592_000)
    .default(86_400)
    .describe(
      'After `eidhub keys rotate`, how long eidhub\'s old and new keys as a relying party of upstream providers (`{publicUrl}/auth/upstream/jwks`) overlap: the new signing key is published this long before it signs, the old encryption key stays published this long beside the new one (the upstreams read the JWKS again meanwhile); 0 signs with the new key at once.',
    ),
  admins: z
    .array(z.string().regex(E164_PATTERN, { message: 'must be a phone number in E.164 form, e.g. +447700900123' }))
    .max(100)
    .default([])
    .describe('Phone numbers (E.164) of the people who may open the admin console at /admin; they log in with an SMS code. Empty: the console is off (the Admin API still takes API clients with the permission admin).'),
  upstreamProviders: z
    .array(upstreamProviderSchema)
    .prefault([])
    .describe('Upstream OpenID Providers (itsme®), each an authenticator of its own; in sandbox mode the itsme simulator is added when none is called itsme.'),
})
  .superRefine((c, ctx) => {
    const seen = new Map<string, string>();
    const check = (id: string, path: (string | number)[]) => {
      const prior = seen.get(id);
      if (prior) ctx.addIssue({ code: 'custom', path, message: `duplicate clientId "${id}" (also at ${prior})` });
      else seen.set(id, path.join('.'));
    };
    c.oidcClients.forEach((cl, i) => check(cl.clientId, ['oidcClients', i, 'clientId']));
    c.oidcClients.forEach((cl, i) => {
      if (cl.clientId === CONSOLE_CLIENT_ID) ctx.addIssue({ code: 'custom', path: ['oidcClients', i, 'clientId'], message: `"${CONSOLE_CLIENT_ID}" is the admin console's own client; choose another` });
    });
    c.admins.forEach((phone, i) => {
      if (c.admins.indexOf(phone) < i) ctx.addIssue({ code: 'custom', path: ['admins', i], message: `duplicate number (also at admins[${c.admins.indexOf(phone)}])` });
    });
    c.apiClients.forEach((cl, i) => check(cl.clientId, ['apiClients', i, 'clientId']));
    flagDuplicates(ctx, c.realms, 'realms', 'name');
    flagDuplicates(ctx, c.samlServiceProviders, 'samlServiceProviders', 'entityId');
    flagDuplicates(ctx, c.upstreamProviders, 'upstreamProviders', 'id');
    c.upstreamProviders.forEach((p, i) => {
      if (p.id === 'otp-sms') ctx.addIssue({ code: 'custom', path: ['upstreamProviders', i, 'id'], message: 'otp-sms is the SMS authenticator\'s name; choose another' });
      if (p.simulator && !c.sandbox) ctx.addIssue({ code: 'custom', path: ['upstreamProviders', i, 'simulator'], message: 'the simulator is for sandbox mode only (sandbox: true)' });
    });
  });

export type ConfigInput = z.input<typeof configSchema>;
export type ParsedConfig = z.output<typeof configSchema>;
/** The config after defaults that depend on other options are resolved, and SP metadata files read. */
export type Config = Omit<ParsedConfig, 'samlServiceProviders'> & { publicUrl: string; samlServiceProviders: SamlServiceProviderConfig[] };
