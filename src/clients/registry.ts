/**
 * The client registry: OIDC and API clients from the config, with their secrets kept only as
 * SHA-256 hashes. eidhub authenticates clients itself (several valid secrets at once, basic or
 * post), then hands oidc-provider a per-client internal secret derived from a server key, which
 * never leaves the server; see client-auth.ts.
 */
import { createHmac, hash, timingSafeEqual } from 'node:crypto';
import type { ApiClientConfig, OidcClientConfig } from '../config/schema.js';

export const API_SCOPES = ['signicat-api', 'auth-rest-api'] as const;

export interface RegisteredClient {
  clientId: string;
  kind: 'oidc' | 'api';
  name: string | undefined;
  /** SHA-256 of each valid secret; empty for a public client. */
  secretHashes: Buffer[];
  /**
   * The secret oidc-provider knows the client by (client-auth.ts): derived from the server key,
   * so every process agrees on it, once at start, since the token endpoint needs it on every request.
   */
  internalSecret: string;
  oidc?: OidcClientConfig | undefined;
  api?: ApiClientConfig | undefined;
}

const sha256 = (value: string): Buffer => hash('sha256', value, 'buffer');

export class ClientRegistry {
  private readonly clients = new Map<string, RegisteredClient>();

  constructor(oidcClients: OidcClientConfig[], apiClients: ApiClientConfig[], internalSecretKey: Buffer) {
    const internalSecret = (clientId: string) => createHmac('sha256', internalSecretKey).update(`client-secret:${clientId}`).digest('base64url');
    for (const c of oidcClients) {
      this.clients.set(c.clientId, {
        clientId: c.clientId,
        kind: 'oidc',
        name: c.clientName,
        secretHashes: c.secrets.map(sha256),
        internalSecret: internalSecret(c.clientId),
        oidc: c,
      });
    }
    for (const c of apiClients) {
      this.clients.set(c.clientId, {
        clientId: c.clientId,
        kind: 'api',
        name: undefined,
        secretHashes: c.secrets.map(sha256),
        internalSecret: internalSecret(c.clientId),
        api: c,
      });
    }
  }

  get(clientId: string): RegisteredClient | undefined {
    return this.clients.get(clientId);
  }

  async find(clientId: string): Promise<RegisteredClient | undefined> {
    return this.clients.get(clientId);
  }

  list(): RegisteredClient[] {
    return [...this.clients.values()];
  }

  /** Constant-time check of a presented secret against every valid secret of the client. */
  verifySecret(client: RegisteredClient, presented: string): boolean {
    const hash = sha256(presented);
    let ok = false;
    for (const expected of client.secretHashes) ok = timingSafeEqual(expected, hash) || ok;
    return ok;
  }

  /** PKCE: public clients always; confidential clients when configured `required`. */
  pkceRequired(clientId: string): boolean {
    const c = this.clients.get(clientId);
    if (!c || c.kind !== 'oidc') return true;
    return c.secretHashes.length === 0 || c.oidc?.pkce === 'required';
  }
}
