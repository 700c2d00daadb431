/**
 * itsme® through an upstream OpenID Provider, end to end over HTTP: openid-client as the relying
 * party of eidhub, a cookie-following HTTP agent as the person, and as the upstream a local
 * oidc-provider configured the way itsme's OP is (PKCE S256, a signed request object,
 * private_key_jwt, ID token and UserInfo signed RS256 and encrypted RSA-OAEP + A128CBC-HS256,
 * scopes `openid profile`), answering for one test identity. A proxy in front of it can fail the
 * token endpoint or rewrite the ID token it returns; a TCP server that accepts and never answers
 * stands for an upstream that hangs.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createTcpServer, type Server as TcpServer, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { CompactEncrypt, compactDecrypt, decodeJwt, exportJWK, generateKeyPair, importJWK, SignJWT, type JWK } from 'jose';
import Provider, { type Configuration } from 'oidc-provider';
import * as oidc from 'openid-client';
import { freePort, startEidhub, type RunningEidhub } from './support/eidhub.js';
import { Browserless, csrfOf } from './support/http-login.js';

const CLIENT_ID = 'shop';
const SECRET = 'a-long-client-secret-0001';
const UPSTREAM_CLIENT_ID = 'eidhub-at-itsme';
const PERSON = { name: 'Maxence Legrand', given_name: 'Maxence', family_name: 'Legrand', gender: 'female', birthdate: '1981-04-24' };
const PERSON_SUB = 'itsme-user-0001';

interface FakeItsme {
  url: string;
  issuer: string;
  /** What the person does on the consent page. */
  decision: 'confirm' | 'reject';
  /** Answer the token endpoint with HTTP 500. */
  failToken: boolean;
  /** Rewrites the (decrypted) ID token's claims, re-signs and re-encrypts it; `signWith`/`encryptTo` replace the right keys. */
  tamper: ((claims: Record<string, unknown>) => Record<string, unknown>) | undefined;
  signWith: CryptoKey | undefined;
  encryptTo: CryptoKey | undefined;
  /** Sends the rewritten ID token signed only, not encrypted. */
  plain: boolean;
  close(): Promise<void>;
}

/** A local OP configured like itsme's, for eidhub's client at `eidhubUrl`; eidhub's keys come from its JWKS. */
async function startFakeItsme(port: number, eidhubUrl: string, eidhubRpKeys: () => Promise<{ enc: JWK }>): Promise<FakeItsme> {
  const issuer = `http://127.0.0.1:${port}`;
  const { privateKey } = await generateKeyPair('RS256', { extractable: true });
  const opJwk = { ...(await exportJWK(privateKey)), kid: 'op-sig-1', alg: 'RS256', use: 'sig' };
  const opKey = (await importJWK(opJwk, 'RS256')) as CryptoKey;
  const configuration: Configuration = {
    clients: [
      {
        client_id: UPSTREAM_CLIENT_ID,
        redirect_uris: [`${eidhubUrl}/auth/upstream/itsme/callback`],
        response_types: ['code'],
        grant_types: ['authorization_code'],
        token_endpoint_auth_method: 'private_key_jwt',
        token_endpoint_auth_signing_alg: 'RS256',
        jwks_uri: `${eidhubUrl}/auth/upstream/jwks`,
        request_object_signing_alg: 'RS256',
        id_token_signed_response_alg: 'RS256',
        id_token_encrypted_response_alg: 'RSA-OAEP',
        id_token_encrypted_response_enc: 'A128CBC-HS256',
        userinfo_signed_response_alg: 'RS256',
        userinfo_encrypted_response_alg: 'RSA-OAEP',
        userinfo_encrypted_response_enc: 'A128CBC-HS256',
      },
    ],
    clientAuthMethods: ['private_key_jwt'],
    // oidc-provider refuses to fetch from loopback addresses (SSRF protection); eidhub is on one here.
    fetch: (url, options) => fetch(url, { ...options, dispatcher: undefined } as RequestInit),
    jwks: { keys: [opJwk] },
    cookies: { keys: ['fake-itsme-cookie-key'], names: { session: 'itsme_s', interaction: 'itsme_i', resume: 'itsme_r' } },
    features: {
      devInteractions: { enabled: false },
      requestObjects: { enabled: true, requireSignedRequestObject: true },
      encryption: { enabled: true },
      jwtUserinfo: { enabled: true },
    },
    pkce: { required: () => true },
    scopes: ['openid', 'profile'],
    claims: { openid: ['sub'], profile: ['name', 'given_name', 'family_name', 'gender', 'birthdate'] },
    findAccount: (_ctx, sub) => ({ accountId: sub, claims: () => ({ sub, ...PERSON }) }),
    interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
    loadExistingGrant: async (ctx) => {
      const grant = new ctx.oidc.provider.Grant({ clientId: ctx.oidc.client!.clientId, accountId: ctx.oidc.session!.accountId! });
      grant.addOIDCScope([...ctx.oidc.requestParamScopes].join(' '));
      await grant.save();
      return grant;
    },
  };
  const provider = new Provider(issuer, configuration);
  const callback = provider.callback();

  const fake: FakeItsme = {
    url: `http://127.0.0.1:${port}`,
    issuer,
    decision: 'confirm',
    failToken: false,
    tamper: undefined,
    signWith: undefined,
    encryptTo: undefined,
    plain: false,
    close: () => new Promise((r) => server.close(() => r())),
  };

  async function rewriteIdToken(idToken: string): Promise<string> {
    const rp = await eidhubRpKeys();
    const rpPrivate = (await importJWK(rp.enc, 'RSA-OAEP')) as CryptoKey;
    const { plaintext } = await compactDecrypt(idToken, rpPrivate);
    const claims = fake.tamper!(decodeJwt(new TextDecoder().decode(plaintext)) as Record<string, unknown>);
    const jws = await new SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid: opJwk.kid }).sign(fake.signWith ?? opKey);
    if (fake.plain) return jws;
    const { n, e, kty } = rp.enc;
    const encTo = fake.encryptTo ?? ((await importJWK({ n, e, kty }, 'RSA-OAEP')) as CryptoKey);
    return new CompactEncrypt(new TextEncoder().encode(jws)).setProtectedHeader({ alg: 'RSA-OAEP', enc: 'A128CBC-HS256', cty: 'JWT' }).encrypt(encTo);
  }

  async function interaction(req: IncomingMessage, res: ServerResponse) {
    const details = await provider.interactionDetails(req, res);
    if (fake.decision === 'reject') {
      await provider.interactionFinished(req, res, { error: 'access_denied', error_description: 'the user declined' }, { mergeWithLastSubmission: false });
    } else {
      await provider.interactionFinished(req, res, { login: { accountId: PERSON_SUB } }, { mergeWithLastSubmission: false });
    }
    void details;
  }

  const server: Server = createHttpServer((req, res) => {
    const path = req.url ?? '';
    if (path.startsWith('/interaction/')) {
      interaction(req, res).catch((err: unknown) => {
        res.statusCode = 500;
        res.end(String(err));
      });
      return;
    }
    if (req.method === 'POST' && req.url === '/token') {
      if (fake.failToken) {
        res.statusCode = 500;
        res.end('internal error');
        return;
      }
      if (fake.tamper) {
        // Let the OP answer, then rewrite the ID token of its answer.
        const write = res.end.bind(res);
        const chunks: Buffer[] = [];
        res.write = ((chunk: Buffer | string) => {
          chunks.push(Buffer.from(chunk));
          return true;
        }) as typeof res.write;
        res.end = ((chunk?: Buffer | string) => {
          if (chunk) chunks.push(Buffer.from(chunk));
          const body = JSON.parse(Buffer.concat(chunks).toString()) as { id_token: string };
          rewriteIdToken(body.id_token).then(
            (idToken) => {
              const out = JSON.stringify({ ...body, id_token: idToken });
              res.setHeader('content-length', Buffer.byteLength(out));
              write(out);
            },
            (err: unknown) => {
              res.statusCode = 500;
              write(String(err));
            },
          );
          return res;
        }) as typeof res.end;
      }
    }
    void callback(req, res);
  });
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
  return fake;
}

/** A TCP server that accepts connections and never answers: an upstream that hangs. */
async function startSilentServer(port: number): Promise<{ close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: TcpServer = createTcpServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
  return {
    close: () =>
      new Promise((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

describe('itsme® through an upstream OpenID Provider', () => {
  let eidhub: RunningEidhub;
  let itsme: FakeItsme;
  let silent: { close(): Promise<void> };
  let rp: oidc.Configuration;
  const redirectUri = 'http://127.0.0.1:9/callback';

  before(async () => {
    const [opPort, silentPort] = [await freePort(), await freePort()];
    silent = await startSilentServer(silentPort);
    eidhub = await startEidhub({
      oidcClients: [
        {
          clientId: CLIENT_ID,
          secrets: [SECRET],
          redirectUris: [redirectUri],
          scopes: ['openid', 'name', 'profile', 'idp-id', 'phone'],
          idTokenClaims: ['name', 'family_name', 'given_name', 'gender', 'birthdate', 'idp_issuer'],
        },
      ],
      upstreamProviders: [
        { id: 'itsme', issuer: `http://127.0.0.1:${opPort}`, clientId: UPSTREAM_CLIENT_ID, timeoutMs: 3000 },
        { id: 'hanging', preset: 'itsme', issuer: `http://127.0.0.1:${silentPort}/v2`, clientId: 'x', timeoutMs: 800 },
      ],
    });
    const rpKeys = async () => ({ enc: (JSON.parse(await eidhub.store.secrets.getOrCreate('upstream-rp-keys', '{}')) as { enc: JWK }).enc });
    itsme = await startFakeItsme(opPort, eidhub.url, rpKeys);
    rp = await oidc.discovery(new URL(eidhub.issuer), CLIENT_ID, SECRET, undefined, { execute: [oidc.allowInsecureRequests] });
  });

  after(async () => {
    await eidhub?.close();
    await itsme?.close();
    await silent?.close();
  });

  /** Starts a login at eidhub for `scope`; returns the person's agent on the first hosted page and what the RP keeps. */
  async function startLogin(scope: string, idp = 'itsme', stopAt?: string) {
    const verifier = oidc.randomPKCECodeVerifier();
    const state = oidc.randomState();
    const nonce = oidc.randomNonce();
    const url = oidc.buildAuthorizationUrl(rp, {
      redirect_uri: redirectUri,
      scope,
      state,
      nonce,
      acr_values: `idp:${idp}`,
      prompt: 'login',
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
    });
    const agent = new Browserless(eidhub.url);
    // The first page goes straight to the upstream (the authenticator's enter); the agent follows
    // the browser there and back, and stops at the relying party or at a page of eidhub's.
    const done = await agent.get(url.href, stopAt ?? redirectUri);
    return { agent, done, verifier, state, nonce };
  }

  async function tokensFor(login: Awaited<ReturnType<typeof startLogin>>, callbackUrl: string) {
    const error = new URL(callbackUrl).searchParams.get('error');
    if (error) assert.fail(`the relying party got ${error}: ${new URL(callbackUrl).searchParams.get('error_description')}\n${eidhub.logText().split('\n').filter((l) => /warn|error/i.test(l)).slice(-5).join('\n')}`);
    return oidc.authorizationCodeGrant(rp, new URL(callbackUrl), { pkceCodeVerifier: login.verifier, expectedState: login.state, expectedNonce: login.nonce });
  }

  it('serves eidhub\'s public RP keys, sig and enc, without a private member', async () => {
    const res = await fetch(`${eidhub.url}/auth/upstream/jwks`);
    assert.equal(res.status, 200);
    const jwks = (await res.json()) as { keys: JWK[] };
    assert.deepEqual(jwks.keys.map((k) => [k.use, k.alg]), [['sig', 'RS256'], ['enc', 'RSA-OAEP']]);
    for (const key of jwks.keys) {
      assert.deepEqual(Object.keys(key).sort(), ['alg', 'e', 'kid', 'kty', 'n', 'use']);
      assert.ok(key.kid);
    }
  });

  it('Authentication (openid name): ID token and UserInfo as the seed\'s first example', async () => {
    const login = await startLogin('openid name');
    const done = login.done;
    assert.ok(done.url.startsWith(redirectUri), `ended at ${done.url} (${done.res.status})\n${eidhub.logText().split('\n').filter((l) => /"level":[45]0/.test(l)).slice(-5).join('\n')}`);
    const tokens = await tokensFor(login, done.url);
    const claims = tokens.claims()!;
    assert.equal(claims.name, PERSON.name);
    assert.equal(claims.given_name, PERSON.given_name);
    assert.equal(claims.family_name, PERSON.family_name);
    assert.equal(claims.idp_issuer, itsme.issuer);
    assert.deepEqual(claims.amr, ['external']);
    assert.equal(claims.gender, undefined, 'gender is profile only');
    assert.equal(claims.birthdate, undefined, 'birthdate is profile only');
    assert.equal(claims.sandbox, undefined, 'a real upstream is no sandbox');
    // The seed's keys one by one (sandbox: only from the simulator), with two beyond it: acr (eidhub's
    // level of assurance) and nonce (this relying party sent one; the seed's request has none).
    assert.deepEqual(
      Object.keys(claims).sort(),
      ['acr', 'amr', 'at_hash', 'aud', 'auth_time', 'exp', 'family_name', 'given_name', 'iat', 'idp', 'idp_issuer', 'iss', 'name', 'nbf', 'nonce', 'sid', 'sub', 'transaction_id'],
    );
    assert.equal(claims.idp, 'itsme');
    assert.equal(claims.nbf, claims.iat);
    assert.match(String(claims.transaction_id), /^[0-9a-f-]{36}$/);
    assert.equal(claims.acr, 'loa:high');
    assert.equal(claims.at_hash, createHash('sha256').update(tokens.access_token).digest().subarray(0, 16).toString('base64url'));
    const userinfo = await oidc.fetchUserInfo(rp, tokens.access_token, claims.sub);
    assert.deepEqual(Object.keys(userinfo).sort(), ['family_name', 'given_name', 'idp_issuer', 'name', 'sub']);
    assert.equal(userinfo.idp_issuer, itsme.issuer);

    // The same person gets the same sub on the next login.
    const again = await startLogin('openid name');
    const second = await tokensFor(again, again.done.url);
    assert.equal(second.claims()!.sub, claims.sub);
    assert.notEqual(second.claims()!.transaction_id, claims.transaction_id, 'each login its own transaction');
  });

  it('Identification (openid profile): adds gender and birthdate', async () => {
    const login = await startLogin('openid profile');
    const done = login.done;
    const tokens = await tokensFor(login, done.url);
    const claims = tokens.claims()!;
    assert.equal(claims.gender, 'female');
    assert.equal(claims.birthdate, '1981-04-24');
    const userinfo = await oidc.fetchUserInfo(rp, tokens.access_token, claims.sub);
    assert.deepEqual(Object.keys(userinfo).sort(), ['birthdate', 'family_name', 'gender', 'given_name', 'idp_issuer', 'name', 'sub']);
    assert.deepEqual(
      { name: userinfo.name, family_name: userinfo.family_name, given_name: userinfo.given_name, gender: userinfo.gender, birthdate: userinfo.birthdate },
      PERSON,
    );
  });

  it('the person rejecting at itsme gives the relying party access_denied with its state', async () => {
    itsme.decision = 'reject';
    try {
      const login = await startLogin('openid name');
      const done = login.done;
      const answer = new URL(done.url);
      assert.ok(done.url.startsWith(redirectUri), done.url);
      assert.equal(answer.searchParams.get('error'), 'access_denied');
      assert.equal(answer.searchParams.get('state'), login.state);
    } finally {
      itsme.decision = 'confirm';
    }
  });

  /** The hosted page's retry form: its status, its error text, and its CSRF field. */
  function assertRetryPage(res: { res: Response; body: string }, text: RegExp) {
    assert.equal(res.res.status, 422, 'a page of its own, not a 500');
    assert.match(res.body, text);
    assert.match(res.body, /action="[^"]*\/retry"/, 'a retry button');
  }

  /** Log lines written since `from` (a length of logText()). */
  const logSince = (from: number) => eidhub.logText().slice(from);

  it('the upstream answering 500 on the token endpoint: a page saying so, whose retry button logs in', async () => {
    itsme.failToken = true;
    let login;
    let failed;
    try {
      login = await startLogin('openid name');
      failed = login.done;
    } finally {
      itsme.failToken = false;
    }
    assertRetryPage(failed, /had a problem/);
    const done = await login.agent.post(`${new URL(failed.url).origin}${new URL(failed.url).pathname.replace(/\/callback$/, '')}/retry`, { csrf: csrfOf(failed.body) }, redirectUri);
    assert.ok(done.url.startsWith(redirectUri), done.url);
    assert.equal((await tokensFor(login, done.url)).claims()!.name, PERSON.name);
  });

  it('an upstream that accepts and never answers: the timeout page within the configured timeout', async () => {
    const started = Date.now();
    const login = await startLogin('openid name', 'hanging');
    const page = login.done;
    const took = Date.now() - started;
    assertRetryPage(page, /did not answer in time/);
    assert.ok(took >= 700 && took < 2500, `answered after ${took} ms (timeout 800 ms)`);
    assert.match(page.url, /\/login\/[0-9a-f-]{36}$/, 'on the login\'s first page');
    // Retrying waits again, and says so again: never a hang, never a 500.
    const again = await login.agent.post(`${page.url}/retry`, { csrf: csrfOf(page.body) });
    assertRetryPage(again, /did not answer in time/);
    // Reloading the page shows the same problem (opening a page is answered 200), not a new attempt.
    const reload = await login.agent.get(page.url);
    assert.equal(reload.res.status, 200);
    assert.match(reload.body, /did not answer in time/);
    assert.match(reload.body, /action="[^"]*\/retry"/);
  });

  /** Runs a login whose ID token the upstream's proxy rewrites; returns the page eidhub answers with and what it logged. */
  async function withTamperedIdToken(tamper: (claims: Record<string, unknown>) => Record<string, unknown>, keys: { signWith?: CryptoKey; encryptTo?: CryptoKey; plain?: boolean } = {}) {
    itsme.tamper = tamper;
    itsme.signWith = keys.signWith;
    itsme.encryptTo = keys.encryptTo;
    itsme.plain = keys.plain ?? false;
    const from = eidhub.logText().length;
    try {
      const login = await startLogin('openid name');
      const page = login.done;
      return { login, page, log: logSince(from) };
    } finally {
      itsme.tamper = undefined;
      itsme.signWith = undefined;
      itsme.encryptTo = undefined;
      itsme.plain = false;
    }
  }

  const otherRsaKey = async (alg: string) => (await generateKeyPair(alg, { extractable: true })).privateKey;

  for (const [name, tamper, keys, logged] of [
    ['a bad signature', (c: Record<string, unknown>) => c, async () => ({ signWith: await otherRsaKey('RS256') }), /signature/i],
    ['a wrong nonce', (c: Record<string, unknown>) => ({ ...c, nonce: 'not-the-nonce' }), async () => ({}), /nonce/],
    ['a wrong iss', (c: Record<string, unknown>) => ({ ...c, iss: 'https://evil.example' }), async () => ({}), /iss/],
    ['a wrong aud', (c: Record<string, unknown>) => ({ ...c, aud: 'someone-else' }), async () => ({}), /aud/],
    [
      'a token encrypted to another key',
      (c: Record<string, unknown>) => c,
      async () => {
        const { publicKey } = await generateKeyPair('RSA-OAEP', { extractable: true });
        return { encryptTo: publicKey };
      },
      /decrypt/i,
    ],
    ['no encryption (signed only)', (c: Record<string, unknown>) => c, async () => ({ plain: true }), /not encrypted/],
  ] as const) {
    it(`an ID token with ${name} is refused, and logged without the token`, async () => {
      const { page, log } = await withTamperedIdToken(tamper, await keys());
      assertRetryPage(page, /could not verify the answer/);
      const line = log.split('\n').find((l) => l.includes('token exchange failed'));
      assert.ok(line, `a warning is logged:\n${log}`);
      assert.match(line, logged);
      assert.doesNotMatch(log, /eyJ[\w-]+\.[\w-]+\./, 'no JWT (nor JWE) in the log');
    });
  }

  it('a callback whose state is not the pending request\'s is refused; the real answer still logs in', async () => {
    // The browser leaves for the upstream; stop before it comes back.
    const login = await startLogin('openid name', 'itsme', `${eidhub.url}/auth/upstream/`);
    const answer = new URL(login.done.url);
    const forged = new URL(answer);
    forged.searchParams.set('state', `${answer.searchParams.get('state')!.split('.')[0]}.forged`);
    const from = eidhub.logText().length;
    const refused = await login.agent.get(forged.href);
    assertRetryPage(refused, /could not verify the answer/);
    assert.match(logSince(from), /state_mismatch/);
    assert.doesNotMatch(logSince(from), new RegExp(answer.searchParams.get('code')!), 'no code in the log');
    const done = await login.agent.get(answer.href, redirectUri);
    assert.ok(done.url.startsWith(redirectUri), done.url);
    assert.equal((await tokensFor(login, done.url)).claims()!.name, PERSON.name);
  });

  it('a state naming no login is a 400 page at the fixed callback', async () => {
    const res = await fetch(`${eidhub.url}/auth/upstream/itsme/callback?code=x&state=nothing`, { headers: { accept: 'text/html' } });
    assert.equal(res.status, 400);
  });
});
