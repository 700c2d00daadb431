/**
 * The four calls seed 004's backend makes to an auth server, with plain HTTP exactly as the seed
 * writes them (Keycloak's paths under {url}/realms/{realm}/protocol/openid-connect/). An answer
 * that is not a success becomes a ShowcaseError carrying the auth server's status and body, so
 * the route passes them on as `{error, status, data}`. Nothing here logs: requests hold secrets.
 */
import { ShowcaseError } from './errors.js';
import type { AuthServer } from './settings.js';

export const CIBA_GRANT_TYPE = 'urn:openid:params:grant-type:ciba';

export interface ClientCredentials {
  clientId: string;
  clientSecret: string;
}

export interface BackchannelAuthentication {
  auth_req_id: string;
  expires_in: number;
  interval?: number;
}

export type UserInfo = Record<string, unknown> & { sub: string };

type Json = Record<string, unknown>;

export class CibaClient {
  constructor(
    private readonly server: AuthServer,
    private readonly realm: string,
    private readonly timeoutMs: number,
  ) {}

  endpoint(name: 'ext/ciba/auth' | 'ext/bc/sms/callback' | 'token' | 'userinfo'): string {
    return `${this.server.url}/realms/${encodeURIComponent(this.realm)}/protocol/openid-connect/${name}`;
  }

  /** Starts CIBA with channel=sms: the auth server texts `message` with the code put in. */
  async startSms(client: ClientCredentials, p: { scope: string; loginHint: string; message: string }): Promise<BackchannelAuthentication> {
    const body = await this.call(this.endpoint('ext/ciba/auth'), {
      method: 'POST',
      body: new URLSearchParams({
        client_id: client.clientId,
        client_secret: client.clientSecret,
        scope: p.scope,
        login_hint: p.loginHint,
        channel: 'sms',
        message: p.message,
      }),
    });
    if (typeof body.auth_req_id !== 'string' || !body.auth_req_id) throw invalidAnswer('the CIBA answer has no auth_req_id');
    return { auth_req_id: body.auth_req_id, expires_in: Number(body.expires_in) || 0, ...(typeof body.interval === 'number' ? { interval: body.interval } : {}) };
  }

  /** Hands the code the person typed to the auth server, which completes the request. */
  async submitSmsCode(authReqId: string, code: string): Promise<void> {
    await this.call(this.endpoint('ext/bc/sms/callback'), {
      method: 'POST',
      headers: { authorization: `Bearer ${authReqId}`, 'content-type': 'application/json' },
      body: JSON.stringify({ code }),
    });
  }

  async redeem(client: ClientCredentials, authReqId: string): Promise<{ access_token: string } & Json> {
    const body = await this.call(this.endpoint('token'), {
      method: 'POST',
      body: new URLSearchParams({ client_id: client.clientId, client_secret: client.clientSecret, grant_type: CIBA_GRANT_TYPE, auth_req_id: authReqId }),
    });
    if (typeof body.access_token !== 'string') throw invalidAnswer('the token answer has no access_token');
    return body as { access_token: string } & Json;
  }

  async userInfo(accessToken: string): Promise<UserInfo> {
    const body = await this.call(this.endpoint('userinfo'), { method: 'GET', headers: { authorization: `Bearer ${accessToken}` } });
    if (typeof body.sub !== 'string') throw invalidAnswer('the UserInfo answer has no sub');
    return body as UserInfo;
  }

  private async call(url: string, init: RequestInit): Promise<Json> {
    let res: Response;
    try {
      res = await fetch(url, { ...init, headers: { accept: 'application/json', ...init.headers }, redirect: 'manual', signal: AbortSignal.timeout(this.timeoutMs) });
    } catch (err) {
      const reason = err instanceof Error && err.name === 'TimeoutError' ? 'did not answer in time' : 'could not be reached';
      throw new ShowcaseError(502, 'auth_server_unreachable', `the auth server ${this.server.id} ${reason}`);
    }
    const text = await res.text();
    const data = parseJson(text);
    // A success without a JSON object is fine for the callback (its answer has nothing to read);
    // the other calls find their fields missing.
    if (res.ok) return data && typeof data === 'object' && !Array.isArray(data) ? (data as Json) : {};
    if (res.status < 400) throw invalidAnswer(`the auth server answered ${res.status}`);
    const error = typeof (data as Json | undefined)?.error === 'string' ? ((data as Json).error as string) : 'auth_server_error';
    const description = (data as Json | undefined)?.error_description;
    throw new ShowcaseError(res.status, error, typeof description === 'string' ? description : `the auth server answered ${res.status}`, data ?? text);
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function invalidAnswer(message: string): ShowcaseError {
  return new ShowcaseError(502, 'invalid_auth_server_answer', message);
}
