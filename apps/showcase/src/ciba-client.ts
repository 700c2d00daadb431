/**
 * The four calls seed 004's backend makes to an auth server, with plain HTTP exactly as the seed
 * writes them (Keycloak's paths under {url}/realms/{realm}/protocol/openid-connect/). Errors
 * come out of upstream.ts carrying the auth server's status and body.
 */
import type { AuthServer } from './settings.js';
import { callJson, invalidAnswer, type Json } from './upstream.js';

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

  private call(url: string, init: RequestInit): Promise<Json> {
    return callJson(`the auth server ${this.server.id}`, url, init, this.timeoutMs);
  }
}

