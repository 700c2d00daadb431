/**
 * The itsme® sandbox simulator (CONTRACT §8) against openid-client as the relying party: a login
 * as each test identity with a signed request object, PKCE and private_key_jwt, ID tokens and
 * UserInfo signed and encrypted to the client, and each thing itsme's test environment refuses.
 * The person is driven over plain HTTP with a cookie jar, and once in Chromium.
 */
import assert from 'node:assert/strict';
import { createServer as createHttpServer, type Server } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { compactDecrypt, createRemoteJWKSet, decodeProtectedHeader, exportJWK, generateKeyPair, jwtVerify, SignJWT, UnsecuredJWT, type CryptoKey, type JWK } from 'jose';
import * as oidc from 'openid-client';
import type { FastifyInstance } from 'fastify';
import { EidhubError } from '../src/core/errors.js';
import { createServer } from '../src/http/server.js';
import { ITSME_SIMULATOR_MOUNT, registerItsmeSimulator, subjectOf, TEST_IDENTITIES, type SimulatorClient } from '../src/sandbox/itsme/index.js';
import { openSqliteStore } from '../src/store/sqlite/index.js';
import type { Store } from '../src/store/types.js';
import { browserSkipReason, launchBrowser } from './support/browser.js';
import { Browserless } from './support/http-login.js';
import { captureLogs } from './support/logs.js';
import { freePort } from './support/net.js';

const CBC_CLIENT = 'itsme-rp-cbc';
const GCM_CLIENT = 'itsme-rp-gcm';
const MAXENCE = TEST_IDENTITIES[0]!;
const COOKIE_KEYS = ['itsme-simulator-test-cookie-key-0001'];

interface RsaKeyPair {
  publicKey: CryptoKey;
  privateKey: CryptoKey;
}

const signingPair = () => generateKeyPair('RS256', { extractable: true }) as Promise<RsaKeyPair>;

async function publicJwk(pair: RsaKeyPair, kid: string, alg: string, use: 'sig' | 'enc'): Promise<JWK> {
  return { ...(await exportJWK(pair.publicKey)), kid, alg, use };
}

/** A relying party's callback: the browser test lands there. */
async function startRp(): Promise<{ server: Server; url: string }> {
  const server = createHttpServer((_req, res) => res.end('relying party callback'));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, url: `http://127.0.0.1:${(server.address() as { port: number }).port}` };
}

/** A Fastify app as eidhub makes it, with only the simulator on it. */
async function simulatorApp(store: Store, publicUrl: string, clients: SimulatorClient[], logger = captureLogs().logger) {
  const app = await createServer({
    logger,
    trustProxy: false,
    store,
    renderHtmlError: (_req, reply, err: EidhubError) => reply.code(err.status).send(err.message),
  });
  const { issuer } = await registerItsmeSimulator(app, { publicUrl, store, trustProxy: false, logger, now: Date.now, clients, cookieKeys: COOKIE_KEYS });
  return { app, issuer };
}

describe('itsme simulator', () => {
  const logs = captureLogs();
  let store: Store;
  let app: FastifyInstance;
  let rp: { server: Server; url: string };
  let origin: string;
  let issuer: string;
  let redirectUri: string;
  let signing: RsaKeyPair;
  let encryption: RsaKeyPair;
  /** The signing key the RP client publishes now (a test rotates it). */
  let currentSigning: { pair: RsaKeyPair; kid: string };
  let config: oidc.Configuration;
  let gcmConfig: oidc.Configuration;
  /** Every code, token and assertion the tests saw, to look for in the logs at the end. */
  const secretsSeen: string[] = [];

  const clientKey = () => ({ key: currentSigning.pair.privateKey, kid: currentSigning.kid });

  async function rpConfig(clientId: string, enc: string, auth: oidc.ClientAuth = oidc.PrivateKeyJwt(clientKey())): Promise<oidc.Configuration> {
    const cfg = await oidc.discovery(new URL(issuer), clientId, { userinfo_signed_response_alg: 'RS256' }, auth, { execute: [oidc.allowInsecureRequests] });
    oidc.enableDecryptingResponses(cfg, [enc], { key: encryption.privateKey, kid: 'enc-1' });
    return cfg;
  }

  before(async () => {
    store = await openSqliteStore({ path: ':memory:' });
    rp = await startRp();
    redirectUri = `${rp.url}/callback`;
    signing = await signingPair();
    encryption = (await generateKeyPair('RSA-OAEP', { extractable: true })) as RsaKeyPair;
    currentSigning = { pair: signing, kid: 'sig-1' };
    const encJwk = await publicJwk(encryption, 'enc-1', 'RSA-OAEP', 'enc');
    const jwks = async () => ({ keys: [await publicJwk(currentSigning.pair, currentSigning.kid, 'RS256', 'sig'), encJwk] });
    const port = await freePort();
    origin = `http://127.0.0.1:${port}`;
    ({ app, issuer } = await simulatorApp(
      store,
      origin,
      [
        { clientId: CBC_CLIENT, redirectUris: [redirectUri], jwks },
        { clientId: GCM_CLIENT, redirectUris: [redirectUri], jwks, encryption: 'A256GCM' },
      ],
      logs.logger,
    ));
    await app.listen({ port, host: '127.0.0.1' });
    config = await rpConfig(CBC_CLIENT, 'A128CBC-HS256');
    gcmConfig = await rpConfig(GCM_CLIENT, 'A256GCM');
  });

  after(async () => {
    await app?.close();
    await store?.close();
    rp?.server.close();
  });

  /** An authorization request as itsme wants it: every parameter in a signed request object, PKCE S256. */
  async function authorize(cfg = config, extra: Record<string, string> = {}) {
    const verifier = oidc.randomPKCECodeVerifier();
    const state = oidc.randomState();
    const nonce = oidc.randomNonce();
    const url = await oidc.buildAuthorizationUrlWithJAR(
      cfg,
      {
        redirect_uri: redirectUri,
        scope: 'openid profile service:EIDHUB_LOGIN',
        state,
        nonce,
        code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
        code_challenge_method: 'S256',
        ...extra,
      },
      clientKey(),
    );
    return { url, verifier, state, nonce };
  }

  /** The person's side over HTTP: authorization → consent page → a decision → the client's callback. */
  async function decide(url: URL, decision: { identity: string } | 'reject', agent = new Browserless(origin)): Promise<URL> {
    const page = await agent.get(url.href, redirectUri);
    assert.equal(page.res.status, 200, `the consent page is shown (got ${page.res.status} at ${page.url}: ${page.body.slice(0, 300)})`);
    const action = decision === 'reject' ? 'reject' : 'confirm';
    const done = await agent.post(`${page.url}/${action}`, decision === 'reject' ? {} : decision, redirectUri);
    assert.ok(done.url.startsWith(redirectUri), `the answer goes back to the client (ended at ${done.url}, ${done.res.status}: ${done.body.slice(0, 300)})`);
    return new URL(done.url);
  }

  async function login(cfg = config, identity = MAXENCE.id) {
    const req = await authorize(cfg);
    const callback = await decide(req.url, { identity });
    secretsSeen.push(callback.searchParams.get('code') ?? '');
    const tokens = await oidc.authorizationCodeGrant(cfg, callback, { pkceCodeVerifier: req.verifier, expectedState: req.state, expectedNonce: req.nonce });
    secretsSeen.push(tokens.access_token, tokens.id_token ?? '');
    return { req, callback, tokens };
  }

  /** Decrypts a JWE with the client's key and verifies the JWS inside against the simulator's JWKS. */
  async function openJwe(jwe: string, enc: string) {
    assert.equal(jwe.split('.').length, 5, 'a JWE in compact form (5 parts)');
    const header = decodeProtectedHeader(jwe);
    assert.equal(header.alg, 'RSA-OAEP');
    assert.equal(header.enc, enc);
    const { plaintext } = await compactDecrypt(jwe, encryption.privateKey);
    const jws = new TextDecoder().decode(plaintext);
    assert.equal(jws.split('.').length, 3, 'a signed JWT inside');
    const jwks = createRemoteJWKSet(new URL(config.serverMetadata().jwks_uri!));
    const { payload, protectedHeader } = await jwtVerify(jws, jwks, { issuer, algorithms: ['RS256'] });
    assert.equal(protectedHeader.alg, 'RS256');
    return payload;
  }

  /** An authorization request that the simulator refuses: the error, wherever it is answered. */
  async function refusal(url: URL): Promise<{ error: string; description: string; status: number }> {
    const res = await fetch(url, { redirect: 'manual' });
    const location = res.headers.get('location');
    if (location?.startsWith(redirectUri)) {
      const params = new URL(location).searchParams;
      return { error: params.get('error') ?? '', description: params.get('error_description') ?? '', status: res.status };
    }
    const body = await res.text();
    const technical = /<p class="technical">([^:]+): ([^<]*)<\/p>/.exec(body);
    return { error: technical?.[1] ?? `no error on the page (${res.status}, ${location ?? ''})`, description: technical?.[2] ?? '', status: res.status };
  }

  it('publishes itsme-like discovery at its issuer, {publicUrl}/sandbox/itsme', async () => {
    assert.equal(issuer, `${origin}${ITSME_SIMULATOR_MOUNT}`);
    const meta = config.serverMetadata();
    assert.equal(meta.issuer, issuer);
    assert.equal(meta.authorization_endpoint, `${issuer}/oidc/authorization`);
    assert.equal(meta.token_endpoint, `${issuer}/oidc/token`);
    assert.equal(meta.userinfo_endpoint, `${issuer}/oidc/userinfo`);
    assert.equal(meta.jwks_uri, `${issuer}/oidc/jwkSet`);
    assert.deepEqual(meta.response_types_supported, ['code']);
    assert.deepEqual(meta.code_challenge_methods_supported, ['S256']);
    assert.deepEqual(meta.token_endpoint_auth_methods_supported, ['private_key_jwt']);
    assert.deepEqual(meta.token_endpoint_auth_signing_alg_values_supported, ['RS256']);
    assert.deepEqual(meta.request_object_signing_alg_values_supported, ['RS256']);
    assert.deepEqual(meta.id_token_encryption_alg_values_supported, ['RSA-OAEP']);
    assert.deepEqual(meta.id_token_encryption_enc_values_supported, ['A128CBC-HS256', 'A256GCM']);
    assert.deepEqual(meta.userinfo_encryption_alg_values_supported, ['RSA-OAEP']);
    assert.equal(meta.require_signed_request_object, true);
    assert.equal(meta.registration_endpoint, undefined);
    assert.deepEqual(meta.scopes_supported, ['openid', 'profile']);
    const jwks = (await (await fetch(meta.jwks_uri!)).json()) as { keys: JWK[] };
    assert.equal(jwks.keys.length, 1);
    assert.equal(jwks.keys[0]!.alg, 'RS256');
    assert.equal(jwks.keys[0]!.d, undefined, 'no private part');
  });

  it('logs Maxence Legrand in: the ID token is encrypted to the client, decrypts and verifies to her claims', async () => {
    const { req, tokens } = await login();
    const payload = await openJwe(tokens.id_token!, 'A128CBC-HS256');
    assert.equal(payload.iss, issuer);
    assert.equal(payload.aud, CBC_CLIENT);
    assert.equal(payload.nonce, req.nonce);
    assert.equal(payload.sub, subjectOf(MAXENCE));
    assert.match(String(payload.sub), /^[A-Za-z0-9+/]{43}=$/, 'opaque, like itsme');
    assert.equal(payload.acr, 'http://itsme.services/v2/claim/acr_basic');
    assert.deepEqual(
      { name: payload.name, given_name: payload.given_name, family_name: payload.family_name, gender: payload.gender, birthdate: payload.birthdate },
      { name: 'Maxence Legrand', given_name: 'Maxence', family_name: 'Legrand', gender: 'female', birthdate: '1981-04-24' },
    );
    // openid-client decrypted and validated the same token.
    assert.equal(tokens.claims()?.name, 'Maxence Legrand');
    assert.equal(tokens.refresh_token, undefined, 'no refresh token');
  });

  it('answers UserInfo as a JWT signed and encrypted to the client', async () => {
    const { tokens } = await login();
    const res = await fetch(config.serverMetadata().userinfo_endpoint!, { headers: { authorization: `Bearer ${tokens.access_token}` } });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^application\/jwt/);
    const payload = await openJwe(await res.text(), 'A128CBC-HS256');
    assert.equal(payload.aud, CBC_CLIENT);
    assert.equal(payload.sub, subjectOf(MAXENCE));
    assert.equal(payload.birthdate, '1981-04-24');
    const userinfo = await oidc.fetchUserInfo(config, tokens.access_token, subjectOf(MAXENCE));
    assert.equal(userinfo.name, 'Maxence Legrand');
    assert.equal(userinfo.gender, 'female');
  });

  it('encrypts with A256GCM for a client configured so', async () => {
    const { tokens } = await login(gcmConfig);
    assert.equal((await openJwe(tokens.id_token!, 'A256GCM')).name, 'Maxence Legrand');
    const res = await fetch(gcmConfig.serverMetadata().userinfo_endpoint!, { headers: { authorization: `Bearer ${tokens.access_token}` } });
    assert.equal((await openJwe(await res.text(), 'A256GCM')).family_name, 'Legrand');
  });

  it('gives each test identity its own sub, the same at every login', async () => {
    const first = (await login()).tokens.claims()!;
    const second = (await login()).tokens.claims()!;
    assert.equal(first.sub, second.sub);
    const lucas = TEST_IDENTITIES.find((i) => i.gender === 'male')!;
    const other = (await login(config, lucas.id)).tokens.claims()!;
    assert.notEqual(other.sub, first.sub);
    assert.equal(other.name, `${lucas.givenName} ${lucas.familyName}`);
    assert.equal(other.gender, 'male');
  });

  it('asks at every authorization, also in a browser that confirmed before, and gives the person confirmed now', async () => {
    const agent = new Browserless(origin);
    const lucas = TEST_IDENTITIES[1]!;
    const subs: unknown[] = [];
    for (const identity of [MAXENCE, lucas]) {
      const req = await authorize();
      const callback = await decide(req.url, { identity: identity.id }, agent);
      const tokens = await oidc.authorizationCodeGrant(config, callback, { pkceCodeVerifier: req.verifier, expectedState: req.state, expectedNonce: req.nonce });
      subs.push(tokens.claims()?.sub);
    }
    assert.deepEqual(subs, [subjectOf(MAXENCE), subjectOf(lucas)]);
  });

  it('logs in at the level of assurance the client asked for', async () => {
    const req = await authorize(config, { acr_values: 'http://itsme.services/v2/claim/acr_advanced' });
    const callback = await decide(req.url, { identity: MAXENCE.id });
    const tokens = await oidc.authorizationCodeGrant(config, callback, { pkceCodeVerifier: req.verifier, expectedState: req.state, expectedNonce: req.nonce });
    assert.equal(tokens.claims()?.acr, 'http://itsme.services/v2/claim/acr_advanced');
  });

  it('Reject sends access_denied back to the client with its state', async () => {
    const req = await authorize();
    const callback = await decide(req.url, 'reject');
    assert.equal(callback.searchParams.get('error'), 'access_denied');
    assert.equal(callback.searchParams.get('state'), req.state);
    assert.equal(callback.searchParams.get('iss'), issuer);
    assert.equal(callback.searchParams.get('code'), null);
  });

  describe('refuses an authorization request', () => {
    it('without a request object', async () => {
      const verifier = oidc.randomPKCECodeVerifier();
      const url = oidc.buildAuthorizationUrl(config, {
        redirect_uri: redirectUri,
        scope: 'openid profile',
        state: oidc.randomState(),
        code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
        code_challenge_method: 'S256',
      });
      const { error, description } = await refusal(url);
      assert.equal(error, 'invalid_request');
      assert.match(description, /Request Object must be used/);
    });

    it('with an unsigned request object (alg none)', async () => {
      const request = new UnsecuredJWT({
        response_type: 'code',
        client_id: CBC_CLIENT,
        redirect_uri: redirectUri,
        scope: 'openid profile',
        code_challenge: await oidc.calculatePKCECodeChallenge(oidc.randomPKCECodeVerifier()),
        code_challenge_method: 'S256',
      })
        .setIssuer(CBC_CLIENT)
        .setAudience(issuer)
        .setIssuedAt()
        .setExpirationTime('1m')
        .encode();
      const url = new URL(config.serverMetadata().authorization_endpoint!);
      url.search = new URLSearchParams({ client_id: CBC_CLIENT, request }).toString();
      const { error, description } = await refusal(url);
      assert.equal(error, 'invalid_request_object');
      assert.match(description, /unsupported signed request alg/);
    });

    it('with a request object signed by another key', async () => {
      const stranger = await signingPair();
      const url = await oidc.buildAuthorizationUrlWithJAR(
        config,
        {
          redirect_uri: redirectUri,
          scope: 'openid profile',
          code_challenge: await oidc.calculatePKCECodeChallenge(oidc.randomPKCECodeVerifier()),
          code_challenge_method: 'S256',
        },
        { key: stranger.privateKey, kid: 'sig-1' },
      );
      const { error, description } = await refusal(url);
      assert.equal(error, 'invalid_request_object');
      assert.match(description, /could not validate Request Object/);
    });

    it('without PKCE', async () => {
      const url = await oidc.buildAuthorizationUrlWithJAR(config, { redirect_uri: redirectUri, scope: 'openid profile', state: 'xyz' }, clientKey());
      const { error, description } = await refusal(url);
      assert.equal(error, 'invalid_request');
      assert.match(description, /PKCE/);
    });
  });

  describe('refuses a token request', () => {
    /** A code for Maxence, and what redeems it. */
    async function freshCode() {
      const req = await authorize();
      const callback = await decide(req.url, { identity: MAXENCE.id });
      secretsSeen.push(callback.searchParams.get('code') ?? '');
      return { req, callback, checks: { pkceCodeVerifier: req.verifier, expectedState: req.state, expectedNonce: req.nonce } };
    }

    async function assertInvalidClient(cfg: oidc.Configuration, code: Awaited<ReturnType<typeof freshCode>>) {
      const err: unknown = await oidc.authorizationCodeGrant(cfg, code.callback, code.checks).then(
        () => assert.fail('the token request was accepted'),
        (e: unknown) => e,
      );
      // A refused Basic header is answered 401 with a challenge, which openid-client reports as such.
      if (err instanceof oidc.WWWAuthenticateChallengeError) {
        assert.equal(err.status, 401);
        assert.equal(((await err.response.json()) as { error: string }).error, 'invalid_client');
      } else {
        assert.ok(err instanceof oidc.ResponseBodyError, String(err));
        assert.equal(err.error, 'invalid_client');
      }
      // The code was good: the right client redeems it.
      const tokens = await oidc.authorizationCodeGrant(config, code.callback, code.checks);
      assert.equal(tokens.claims()?.sub, subjectOf(MAXENCE));
    }

    it('whose client assertion is signed by another key', async () => {
      const stranger = await signingPair();
      await assertInvalidClient(await rpConfig(CBC_CLIENT, 'A128CBC-HS256', oidc.PrivateKeyJwt({ key: stranger.privateKey, kid: 'sig-1' })), await freshCode());
    });

    it('whose client assertion names another audience', async () => {
      const assertion = await new SignJWT({})
        .setProtectedHeader({ alg: 'RS256', kid: 'sig-1' })
        .setIssuer(CBC_CLIENT)
        .setSubject(CBC_CLIENT)
        .setAudience('https://idp.e2e.itsme.services/v2/token')
        .setJti(oidc.randomState())
        .setIssuedAt()
        .setExpirationTime('1m')
        .sign(signing.privateKey);
      secretsSeen.push(assertion);
      const wrongAudience: oidc.ClientAuth = (_as, client, body) => {
        body.set('client_id', client.client_id);
        body.set('client_assertion_type', 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer');
        body.set('client_assertion', assertion);
      };
      await assertInvalidClient(await rpConfig(CBC_CLIENT, 'A128CBC-HS256', wrongAudience), await freshCode());
    });

    it('with client_secret_basic', async () => {
      await assertInvalidClient(await rpConfig(CBC_CLIENT, 'A128CBC-HS256', oidc.ClientSecretBasic('a-guessed-secret')), await freshCode());
    });

    it('for a code redeemed twice', async () => {
      const code = await freshCode();
      await oidc.authorizationCodeGrant(config, code.callback, code.checks);
      await assert.rejects(oidc.authorizationCodeGrant(config, code.callback, code.checks), (err: unknown) => {
        assert.ok(err instanceof oidc.ResponseBodyError);
        assert.equal(err.error, 'invalid_grant');
        return true;
      });
    });
  });

  it("reads the client's keys at every look-up, so a rotated key is used at once", async () => {
    const previous = currentSigning;
    currentSigning = { pair: await signingPair(), kid: 'sig-2' };
    try {
      const rotated = await rpConfig(CBC_CLIENT, 'A128CBC-HS256');
      const { tokens } = await login(rotated);
      assert.equal(tokens.claims()?.sub, subjectOf(MAXENCE));
      // The old key no longer signs a request object the simulator accepts.
      const stale = await oidc.buildAuthorizationUrlWithJAR(
        config,
        { redirect_uri: redirectUri, scope: 'openid profile', code_challenge: await oidc.calculatePKCECodeChallenge(oidc.randomPKCECodeVerifier()), code_challenge_method: 'S256' },
        { key: previous.pair.privateKey, kid: previous.kid },
      );
      assert.equal((await refusal(stale)).error, 'invalid_request_object');
    } finally {
      currentSigning = previous;
    }
  });

  describe('the consent page', () => {
    async function openConsent(agent = new Browserless(origin)) {
      const req = await authorize();
      const page = await agent.get(req.url.href, redirectUri);
      assert.equal(page.res.status, 200);
      return { req, page, agent };
    }

    it('lists the test identities, Maxence Legrand first and chosen, with labels, Confirm and Reject, under a strict CSP', async () => {
      const { page } = await openConsent();
      assert.match(page.url, new RegExp(`^${origin}${ITSME_SIMULATOR_MOUNT}/interaction/[^/]+$`));
      const body = page.body;
      assert.match(body, /<html lang="en">/);
      assert.match(body, /<meta name="viewport" content="width=device-width, initial-scale=1">/);
      const radios = [...body.matchAll(/<input type="radio" name="identity" id="([^"]+)" value="([^"]+)"( checked)?>/g)];
      assert.ok(radios.length >= 4 && radios.length <= 5, `four or five identities (${radios.length})`);
      assert.equal(radios[0]![2], 'maxence-legrand');
      assert.equal(radios[0]![3], ' checked');
      for (const [, id] of radios) assert.match(body, new RegExp(`<label for="${id}">`), `a label for ${id}`);
      assert.match(body, /<legend>Test identity<\/legend>/);
      assert.match(body, /Maxence Legrand<\/span><span class="details">Female, born 24 April 1981/);
      assert.equal(new Set(TEST_IDENTITIES.map((i) => i.gender)).size, 2, 'both genders');
      assert.match(body, /<button type="submit" class="btn btn-primary">Confirm<\/button>/);
      assert.match(body, /<button type="submit" class="btn btn-secondary">Reject<\/button>/);
      assert.doesNotMatch(body, /<script/i, 'no script at all');
      const csp = page.res.headers.get('content-security-policy') ?? '';
      assert.match(csp, /default-src 'none'/);
      assert.match(csp, /frame-ancestors 'none'/);
      assert.match(csp, new RegExp(`form-action 'self' ${rp.url} \\*`), "the client's origin, and beyond it (a broker's relying party) for the redirects after the post");
      const nonce = /style-src 'nonce-([^']+)'/.exec(csp)?.[1];
      assert.ok(nonce && body.includes(`<style nonce="${nonce}">`), 'the style carries the nonce');
      assert.equal(page.res.headers.get('cache-control'), 'no-store');
    });

    it('refuses a post for another interaction than the one of its cookie', async () => {
      const agent = new Browserless(origin);
      const first = await openConsent(agent);
      // A second login in the same browser: its interaction cookie replaces the first's.
      await openConsent(agent);
      const res = await agent.post(`${first.page.url}/confirm`, { identity: MAXENCE.id });
      assert.equal(res.res.status, 400);
      assert.match(res.body, /another login started in this browser/);
    });

    it('refuses a post without the interaction cookie (another site, another browser)', async () => {
      const { page } = await openConsent();
      const res = await new Browserless(origin).post(`${page.url}/confirm`, { identity: MAXENCE.id });
      assert.equal(res.res.status, 400);
      assert.match(res.body, /expired or was started in another browser/);
      assert.match(res.res.headers.get('content-type') ?? '', /^text\/html/);
    });

    it('answers a bad form with a 400 page, and the login can still be confirmed', async () => {
      const { page, agent, req } = await openConsent();
      for (const form of [{}, { identity: 'nobody' }, { identity: '' }] as Record<string, string>[]) {
        const res = await agent.post(`${page.url}/confirm`, form);
        assert.equal(res.res.status, 400, JSON.stringify(form));
        assert.match(res.body, /Choose one of the test identities/);
      }
      for (const [type, body] of [
        ['application/json', '{"identity":'],
        ['text/plain', 'identity=maxence-legrand'],
        ['application/x-www-form-urlencoded', `identity=${'x'.repeat(20_000)}`],
      ] as const) {
        const res = await fetch(`${page.url}/confirm`, { method: 'POST', headers: { 'content-type': type, cookie: '' }, body });
        assert.ok(res.status >= 400 && res.status < 500, `${type}: ${res.status}`);
        assert.match(await res.text(), /<h1 id="heading">Unable to continue<\/h1>/);
      }
      const done = await agent.post(`${page.url}/confirm`, { identity: MAXENCE.id }, redirectUri);
      const tokens = await oidc.authorizationCodeGrant(config, new URL(done.url), { pkceCodeVerifier: req.verifier, expectedState: req.state, expectedNonce: req.nonce });
      assert.equal(tokens.claims()?.name, 'Maxence Legrand');
    });

    it('answers an unknown interaction with a 400 page', async () => {
      const res = await fetch(`${origin}${ITSME_SIMULATOR_MOUNT}/interaction/unknown-uid`);
      assert.equal(res.status, 400);
      assert.match(await res.text(), /Unable to continue/);
    });
  });

  it('answers malformed requests with a 4xx, never a 500', async () => {
    const form = (body: string, headers: Record<string, string> = {}) => ({ method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers }, body });
    const probes: [string, RequestInit?][] = [
      ['/oidc/authorization'],
      [`/oidc/authorization?client_id=${CBC_CLIENT}&request=x.y.z`],
      [`/oidc/authorization?client_id=${CBC_CLIENT}&request=${'a'.repeat(9000)}`],
      ['/oidc/authorization?client_id=nobody&request=abc'],
      ['/oidc/authorization?client_id[]=x'],
      ['/oidc/authorization/unknown-uid'],
      ['/oidc/token', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"grant_type":"authorization_code"}' }],
      ['/oidc/token', form(`grant_type=authorization_code&code=x&client_id=${CBC_CLIENT}&client_assertion_type=urn:ietf:params:oauth:client-assertion-type:jwt-bearer&client_assertion=a.b.c`)],
      ['/oidc/token', form('grant_type=authorization_code', { authorization: 'Basic !!!' })],
      ['/oidc/token', form('x'.repeat(100_000))],
      ['/oidc/userinfo', { headers: { authorization: 'Bearer garbage' } }],
      ['/interaction/%00'],
      ['/interaction/x/confirm', { method: 'POST' }],
      ['/interaction/x/confirm', form('identity=maxence-legrand', { cookie: 'itsme_sim_interaction=abc; itsme_sim_interaction.sig=forged' })],
      ['/interaction/x/reject', { method: 'POST', headers: { 'content-type': 'multipart/form-data; boundary=x' }, body: '--x--' }],
    ];
    for (const [path, init] of probes) {
      const res = await fetch(`${issuer}${path}`, { redirect: 'manual', ...init });
      await res.body?.cancel();
      assert.ok(res.status >= 400 && res.status < 500, `${init?.method ?? 'GET'} ${path.slice(0, 60)}: ${res.status}`);
    }
    assert.deepEqual(
      logs.records().filter((r) => Number(r.level) >= 50),
      [],
      'nothing logged as an error',
    );
  });

  it('keeps its signing key in the store: a second simulator on the same store publishes the same key', async () => {
    const published = async (application: FastifyInstance) => (await application.inject({ method: 'GET', url: `${ITSME_SIMULATOR_MOUNT}/oidc/jwkSet` })).json<{ keys: JWK[] }>().keys;
    const second = await simulatorApp(store, origin, []);
    const elsewhere = await openSqliteStore({ path: ':memory:' });
    const third = await simulatorApp(elsewhere, origin, []);
    try {
      const ours = await published(app);
      assert.deepEqual(await published(second.app), ours);
      assert.notDeepEqual((await published(third.app))[0]!.n, ours[0]!.n, 'another store, another key');
    } finally {
      await second.app.close();
      await third.app.close();
      await elsewhere.close();
    }
  });

  it('writes no code, token nor assertion to its logs', () => {
    const text = logs.records().map((r) => JSON.stringify(r)).join('\n');
    assert.ok(secretsSeen.filter(Boolean).length > 10);
    for (const secret of secretsSeen.filter(Boolean)) assert.ok(!text.includes(secret), `a secret in the logs: ${secret.slice(0, 8)}…`);
    assert.ok(logs.messages().includes('itsme simulator: the person confirmed'));
  });

  describe('in Chromium', { skip: browserSkipReason() }, () => {
    it('a person picks Élise Janssens with the keyboard and confirms; the client gets her, and the next login there asks again', async () => {
      const browser = await launchBrowser();
      try {
        const context = await browser.newContext({ viewport: { width: 375, height: 740 } });
        const page = await context.newPage();
        const violations: string[] = [];
        page.on('console', (m) => m.type() === 'error' && violations.push(m.text()));
        const req = await authorize();
        await page.goto(req.url.href);
        await page.getByRole('radio', { name: /Maxence Legrand/ }).focus();
        assert.ok(await page.getByRole('radio', { name: /Maxence Legrand/ }).isChecked());
        await page.keyboard.press('ArrowDown');
        await page.keyboard.press('ArrowDown');
        const elise = page.getByRole('radio', { name: /Élise Janssens/ });
        assert.ok(await elise.isChecked(), 'arrow keys move the choice');
        await page.getByRole('button', { name: 'Confirm' }).click();
        await page.waitForURL((u) => u.href.startsWith(redirectUri));
        const tokens = await oidc.authorizationCodeGrant(config, new URL(page.url()), { pkceCodeVerifier: req.verifier, expectedState: req.state, expectedNonce: req.nonce });
        secretsSeen.push(tokens.access_token);
        assert.equal(tokens.claims()?.name, 'Élise Janssens');
        // The same browser again: itsme asks again, and Maxence Legrand is logged in this time.
        const again = await authorize();
        await page.goto(again.url.href);
        await page.getByRole('button', { name: 'Confirm' }).click();
        await page.waitForURL((u) => u.href.startsWith(redirectUri));
        const second = await oidc.authorizationCodeGrant(config, new URL(page.url()), { pkceCodeVerifier: again.verifier, expectedState: again.state, expectedNonce: again.nonce });
        secretsSeen.push(second.access_token);
        assert.equal(second.claims()?.name, 'Maxence Legrand');
        assert.deepEqual(violations, [], 'no CSP violation nor other error');
      } finally {
        await browser.close();
      }
    });
  });
});
