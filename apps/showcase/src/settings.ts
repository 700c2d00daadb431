/**
 * The showcase's settings: the shape of config/default.json (seed 004's keys, snake_case as the
 * seed writes them), with every default in this one schema. main.ts reads the files with the
 * `config` package (so NODE_CONFIG, NODE_ENV files and local.json override default.json) and
 * passes the merged object through parseSettings.
 */
import { z } from 'zod';

const httpUrl = z.url({ protocol: /^https?$/, message: 'must be an absolute http or https URL' });

const authServer = z.object({
  id: z.string().min(1).describe('What the page sends as server_id.'),
  url: httpUrl.transform((u) => u.replace(/\/+$/, '')).describe("The auth server URL: eidhub's is {publicUrl}/auth."),
  title: z.string().optional().describe('Shown in the server chooser; the id when absent.'),
});

const client = z.object({
  user_flow: z.string().min(1).describe('pvn_sms: phone number verification by SMS (CIBA).'),
  title: z.string().optional().describe("The button's text."),
  scope: z.string().min(1).default('openid ip:phone_verify').describe('Scopes asked when the page sends none.'),
  client_id: z.string().min(1).optional().describe('This flow\'s OAuth client; the top-level client_id when absent.'),
  client_secret: z.string().min(1).optional().describe("Its secret; the top-level client_secret when absent. Never sent to the browser or logged."),
});

export const SMS_CODE_PLACEHOLDER = '{{code}}';

const eidhubFlows = z.object({
  url: httpUrl
    .transform((u) => u.replace(/\/+$/, ''))
    .default('http://localhost:3000')
    .describe("eidhub's public URL, for the OpenID Connect login (issuer {url}/auth/open) and the REST embedded flow."),
  oidc: z
    .object({
      client_id: z.string().min(1).default('demo-oidc-client').describe('An OIDC client of eidhub whose redirect URIs hold {public_url}/oidc/callback.'),
      client_secret: z
        .string()
        .min(1)
        .optional()
        .describe("Its secret; without one the page leaves the OIDC login out. config/default.json has the sandbox's published one. Never sent to the browser or logged."),
      scope: z.string().min(1).default('openid idp-id phone'),
    })
    .prefault({}),
  rest: z
    .object({
      client_id: z.string().min(1).default('demo-api-client').describe('An API client of eidhub with the authentication-rest-api permission.'),
      client_secret: z
        .string()
        .min(1)
        .optional()
        .describe("Its secret; without one the page leaves the REST embedded flow out. config/default.json has the sandbox's published one. Never sent to the browser or logged."),
    })
    .prefault({}),
});

const settingsSchema = z.object({
  port: z.coerce.number().int().min(0).max(65535).default(3001).describe('Listening port; PORT overrides it.'),
  host: z.string().min(1).default('localhost').describe('Listening address; HOST overrides it.'),
  public_url: httpUrl
    .optional()
    .describe("This app's own URL as the browser sees it (cookies are Secure when it is https); http://localhost:{port} when absent."),
  auth_servers: z.array(authServer).default([]).describe('The auth servers the page may choose from; the first is the default.'),
  client_id: z.string().min(1).describe('The OAuth client used for CIBA.'),
  client_secret: z.string().min(1).describe('Its secret (never sent to the browser or logged).'),
  realm: z.string().min(1).default('ipification').describe('The realm under {url}/realms/.'),
  sms_message: z
    .string()
    .refine((m) => m.includes(SMS_CODE_PLACEHOLDER), { message: `must contain ${SMS_CODE_PLACEHOLDER}` })
    .default(`Your verification PIN is: ${SMS_CODE_PLACEHOLDER}`)
    .describe('The SMS text the auth server sends; it puts the code in place of {{code}}.'),
  clients: z.array(client).default([]).describe('One entry per flow the page offers (user_flow).'),
  session: z
    .object({
      secret: z
        .string()
        .min(32, { message: 'must be at least 32 characters' })
        .optional()
        .describe('Signs the session cookie; a random one per start when absent (sessions then end with the process).'),
      ttl_seconds: z.number().int().min(60).max(86_400).default(1800).describe('How long a session lives after its last use.'),
    })
    .prefault({}),
  eidhub: eidhubFlows.prefault({}).describe("eidhub's other protocols, shown on the same page."),
  upstream_timeout_ms: z.number().int().min(100).max(60_000).default(10_000).describe('Timeout of one request to an auth server.'),
});

export type Settings = z.infer<typeof settingsSchema>;
export type AuthServer = Settings['auth_servers'][number];
export type EidhubSettings = Settings['eidhub'];

/** A flow's client with the top-level credentials filled in. */
export interface FlowClient {
  userFlow: string;
  title: string;
  scope: string;
  clientId: string;
  clientSecret: string;
}

export class SettingsError extends Error {
  override name = 'SettingsError';
}

/** Validates the merged config; the error lists each problem with its path, never a value. */
export function parseSettings(raw: unknown): Settings {
  const result = settingsSchema.safeParse(raw);
  if (result.success) return result.data;
  const lines = result.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
  throw new SettingsError(`invalid showcase config:\n  ${lines.join('\n  ')}`);
}

export function flowClients(settings: Settings): FlowClient[] {
  return settings.clients.map((c) => ({
    userFlow: c.user_flow,
    title: c.title ?? c.user_flow,
    scope: c.scope,
    clientId: c.client_id ?? settings.client_id,
    clientSecret: c.client_secret ?? settings.client_secret,
  }));
}

export function publicUrlOf(settings: Settings, port: number): string {
  return (settings.public_url ?? `http://localhost:${port}`).replace(/\/+$/, '');
}
