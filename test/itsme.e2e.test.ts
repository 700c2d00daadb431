/**
 * itsme® through eidhub in a real browser (seed 002, CONTRACT §8): the seed's two authorization
 * URLs, verbatim but for the host and the client, against eidhub in sandbox mode, whose itsme is
 * the simulator at {publicUrl}/sandbox/itsme. Chromium goes from the URL straight to the
 * simulator's consent page, confirms Maxence Legrand, and comes back to the relying party with a
 * code; openid-client redeems it. The ID token and UserInfo are compared with the seed's key by key.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { after, before, describe, it } from 'node:test';
import * as oidc from 'openid-client';
import type { Browser, Page } from 'playwright-core';
import { browserSkipReason, launchBrowser } from './support/browser.js';
import { startEidhub, type RunningEidhub } from './support/eidhub.js';

const skip = browserSkipReason();
const CLIENT_ID = 'seed-002-client';
const SECRET = 'a-long-secret-of-the-seed-002-client';

/** The seed's ID token keys (its first example); Identification adds gender and birthdate. */
const SEED_ID_TOKEN_KEYS = ['iss', 'nbf', 'iat', 'exp', 'aud', 'amr', 'at_hash', 'sid', 'sub', 'auth_time', 'idp', 'name', 'family_name', 'given_name', 'idp_issuer', 'transaction_id', 'sandbox'];
/** Beyond the seed: eidhub's level of assurance. */
const EIDHUB_ID_TOKEN_KEYS = ['acr'];
const SEED_USERINFO_KEYS = ['name', 'family_name', 'given_name', 'sub', 'idp_issuer'];

/** The relying party's redirect URI: answers every request with a small page, so the browser stops there. */
async function startRelyingParty(): Promise<{ server: Server; url: string }> {
  const server = createServer((_req, res) => res.writeHead(200, { 'content-type': 'text/plain' }).end('relying party'));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as { port: number }).port}/callback` };
}

describe('itsme® in Chromium through the sandbox simulator (seed 002)', { skip }, () => {
  let eidhub: RunningEidhub;
  let browser: Browser;
  let rpServer: Server;
  let redirectUri: string;
  let rp: oidc.Configuration;

  before(async () => {
    const relyingParty = await startRelyingParty();
    rpServer = relyingParty.server;
    redirectUri = relyingParty.url;
    eidhub = await startEidhub({
      sandbox: true,
      oidcClients: [
        {
          clientId: CLIENT_ID,
          secrets: [SECRET],
          redirectUris: [redirectUri],
          scopes: ['openid', 'name', 'profile'],
          // The seed's ID tokens carry the person's data: the Dashboard's "ID Token User data".
          idTokenClaims: ['name', 'family_name', 'given_name', 'gender', 'birthdate', 'idp_issuer'],
        },
      ],
    });
    browser = await launchBrowser();
    rp = await oidc.discovery(new URL(eidhub.issuer), CLIENT_ID, SECRET, undefined, { execute: [oidc.allowInsecureRequests] });
  });

  after(async () => {
    await browser?.close();
    await eidhub?.close();
    rpServer?.close();
  });

  /** The seed's authorization URL, with its host and client. */
  const seedUrl = (scope: string) =>
    `${eidhub.url}/auth/open/connect/authorize?client_id=${CLIENT_ID}&response_type=code&redirect_uri=${encodeURIComponent(redirectUri)}&scope=${scope}&acr_values=idp:itsme&prompt=login`;

  /** Opens the URL, checks the browser went straight to the simulator, picks `identity` (by its label) and presses `button`; where the browser ends. */
  async function throughItsme(url: string, button: 'Confirm' | 'Reject', identity = 'Maxence Legrand'): Promise<{ page: Page; landed: URL }> {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(url);
    assert.ok(page.url().startsWith(`${eidhub.url}/sandbox/itsme/`), `straight to the simulator, not ${page.url()}: ${(await page.textContent("body"))?.slice(0, 300)} ${eidhub.logText().split("\n").filter((l) => /"level":[45]0/.test(l)).slice(-3).join("\n")}`);
    await page.getByLabel(identity).check();
    await Promise.all([page.waitForURL((u) => u.href.startsWith(redirectUri)), page.getByRole('button', { name: button }).click()]);
    const landed = new URL(page.url());
    await context.close();
    return { page, landed };
  }

  function payloadOf(jwt: string): Record<string, unknown> {
    return JSON.parse(Buffer.from(jwt.split('.')[1]!, 'base64url').toString('utf8')) as Record<string, unknown>;
  }

  async function redeem(landed: URL) {
    assert.equal(landed.searchParams.get('error'), null, `${landed.searchParams.get('error')}: ${landed.searchParams.get('error_description')}`);
    // The seed's request has neither state nor PKCE; the client is confidential.
    return oidc.authorizationCodeGrant(rp, landed, { expectedState: oidc.skipStateCheck });
  }

  it('Authentication (scope openid name): the seed\'s ID token and UserInfo, key by key', async () => {
    const { landed } = await throughItsme(seedUrl('openid%20name'), 'Confirm');
    const tokens = await redeem(landed);
    const idToken = payloadOf(tokens.id_token!);
    assert.deepEqual(Object.keys(idToken).sort(), [...SEED_ID_TOKEN_KEYS, ...EIDHUB_ID_TOKEN_KEYS].sort());
    assert.equal(idToken.iss, eidhub.issuer);
    assert.equal(idToken.aud, CLIENT_ID);
    assert.deepEqual(idToken.amr, ['external']);
    assert.equal(idToken.idp, 'itsme');
    assert.equal(idToken.idp_issuer, `${eidhub.url}/sandbox/itsme`);
    assert.equal(idToken.sandbox, true);
    assert.equal(idToken.name, 'Maxence Legrand');
    assert.equal(idToken.family_name, 'Legrand');
    assert.equal(idToken.given_name, 'Maxence');
    for (const key of ['nbf', 'iat', 'exp', 'auth_time']) assert.equal(typeof idToken[key], 'number', key);
    for (const key of ['sid', 'sub', 'transaction_id', 'at_hash']) assert.equal(typeof idToken[key], 'string', key);

    const userinfo = await oidc.fetchUserInfo(rp, tokens.access_token, String(idToken.sub));
    assert.deepEqual(Object.keys(userinfo).sort(), [...SEED_USERINFO_KEYS].sort());
    assert.deepEqual(
      { name: userinfo.name, family_name: userinfo.family_name, given_name: userinfo.given_name, idp_issuer: userinfo.idp_issuer },
      { name: 'Maxence Legrand', family_name: 'Legrand', given_name: 'Maxence', idp_issuer: `${eidhub.url}/sandbox/itsme` },
    );
  });

  it('Identification (scope openid profile): adds gender and birthdate; the same person keeps her sub', async () => {
    const first = payloadOf((await redeem((await throughItsme(seedUrl('openid%20name'), 'Confirm')).landed)).id_token!);
    const { landed } = await throughItsme(seedUrl('openid%20profile'), 'Confirm');
    const tokens = await redeem(landed);
    const idToken = payloadOf(tokens.id_token!);
    assert.deepEqual(Object.keys(idToken).sort(), [...SEED_ID_TOKEN_KEYS, ...EIDHUB_ID_TOKEN_KEYS, 'gender', 'birthdate'].sort());
    assert.equal(idToken.gender, 'female');
    assert.equal(idToken.birthdate, '1981-04-24');
    assert.equal(idToken.sub, first.sub, 'sub is stable per person');
    assert.notEqual(idToken.transaction_id, first.transaction_id, 'each login its own transaction');
    const userinfo = await oidc.fetchUserInfo(rp, tokens.access_token, String(idToken.sub));
    assert.deepEqual(Object.keys(userinfo).sort(), [...SEED_USERINFO_KEYS, 'gender', 'birthdate'].sort());
    assert.deepEqual([userinfo.gender, userinfo.birthdate], ['female', '1981-04-24']);
  });

  it('another test identity is another person: another sub and name', async () => {
    const maxence = payloadOf((await redeem((await throughItsme(seedUrl('openid%20name'), 'Confirm')).landed)).id_token!);
    const other = payloadOf((await redeem((await throughItsme(seedUrl('openid%20name'), 'Confirm', 'Lucas Peeters')).landed)).id_token!);
    assert.notEqual(other.sub, maxence.sub);
    assert.equal(other.name, 'Lucas Peeters');
  });

  it('the person rejecting at itsme: the relying party gets access_denied (with its state)', async () => {
    const { landed } = await throughItsme(`${seedUrl('openid%20name')}&state=rp-state-1`, 'Reject');
    assert.equal(landed.searchParams.get('error'), 'access_denied');
    assert.equal(landed.searchParams.get('state'), 'rp-state-1');
    assert.equal(landed.searchParams.get('code'), null);
  });
});
