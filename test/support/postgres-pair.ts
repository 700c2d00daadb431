/**
 * Two eidhub processes (real OS processes, `eidhub --config`) sharing one PostgreSQL and one fake
 * Twilio, and a whole OIDC login on either of them, the SMS code read from the fake: for the
 * tests of what one process's change does on the other.
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before } from 'node:test';
import * as oidc from 'openid-client';
import type { ConfigInput } from '../../src/config/schema.js';
import { startFakeTwilio, type FakeTwilio } from '../fakes/twilio.js';
import { startChildEidhub, writeConfigFile, type ChildEidhub } from './child-eidhub.js';
import { Browserless, csrfOf, smsCodeOf } from './http-login.js';
import { freePort } from './net.js';
import { dropTestDatabase } from './postgres.js';

/** Processes `a` and `b` on `databaseUrl`, sending SMS to `twilio` (credentials `twilioAuth`), each with `extra` in its config. */
export async function startPostgresPair(
  databaseUrl: string,
  twilio: FakeTwilio,
  twilioAuth: { accountSid: string; authToken: string },
  extra: Partial<ConfigInput> = {},
): Promise<ChildEidhub[]> {
  const dir = mkdtempSync(join(tmpdir(), 'eidhub-pair-'));
  const processes: ChildEidhub[] = [];
  for (const name of ['a', 'b']) {
    const port = await freePort();
    const file = writeConfigFile(dir, `${name}.json`, {
      publicUrl: `http://127.0.0.1:${port}`,
      port,
      host: '127.0.0.1',
      storage: { driver: 'postgres', url: databaseUrl },
      sms: { provider: 'twilio', ...twilioAuth, from: 'eidhub', baseUrl: twilio.url },
      ...extra,
    });
    processes.push(await startChildEidhub(file));
  }
  return processes;
}

/** A pair started by usePostgresPair: its processes and its fake Twilio, there once the suite's `before` ran. */
export class PostgresPair {
  readonly processes: ChildEidhub[] = [];
  fake: FakeTwilio | undefined;

  get twilio(): FakeTwilio {
    if (!this.fake) throw new Error('the pair has not started (use it inside the tests)');
    return this.fake;
  }
}

/**
 * The hooks of a suite that runs on a pair: before it, a fake Twilio with `twilioAuth` and
 * processes a and b on `databaseUrl` (startPostgresPair, with `extra`); after it, both stopped,
 * the fake closed and the database dropped.
 */
export function usePostgresPair(databaseUrl: string, twilioAuth: { accountSid: string; authToken: string }, extra: Partial<ConfigInput> = {}): PostgresPair {
  const pair = new PostgresPair();
  before(async () => {
    pair.fake = await startFakeTwilio(twilioAuth);
    pair.processes.push(...(await startPostgresPair(databaseUrl, pair.fake, twilioAuth, extra)));
  });
  after(async () => {
    await Promise.all(pair.processes.map((p) => p.kill('SIGTERM')));
    await pair.fake?.close();
    await dropTestDatabase(databaseUrl);
  });
  return pair;
}

/** A full OIDC login at `publicUrl` with a confidential client (no PKCE); returns the ID token's claims. */
export async function loginWithTwilio(opts: { publicUrl: string; clientId: string; secret: string; redirectUri: string; phone: string; twilio: FakeTwilio }) {
  const { publicUrl, redirectUri, phone } = opts;
  const config = await oidc.discovery(new URL(`${publicUrl}/auth/open`), opts.clientId, opts.secret, undefined, { execute: [oidc.allowInsecureRequests] });
  const state = oidc.randomState();
  const url = oidc.buildAuthorizationUrl(config, { redirect_uri: redirectUri, scope: 'openid idp-id phone', state });
  const agent = new Browserless(publicUrl);
  const page = await agent.get(url.href);
  assert.equal(page.res.status, 200, `the hosted page on ${publicUrl}`);
  const since = Date.now();
  const codeStep = await agent.post(`${page.url}/phone`, { csrf: csrfOf(page.body), phone });
  const sms = await opts.twilio.waitForMessage((m) => m.to === phone && m.dateCreated.getTime() >= since, 5000);
  const done = await agent.post(`${page.url}/code`, { csrf: csrfOf(codeStep.body), code: smsCodeOf(sms.body)! }, redirectUri);
  assert.ok(done.url.startsWith(redirectUri), `back at the relying party: ${done.url}`);
  const tokens = await oidc.authorizationCodeGrant(config, new URL(done.url), { expectedState: state });
  return tokens.claims()!;
}
