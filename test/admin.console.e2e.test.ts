/**
 * The admin console in Chromium: an admin logs in by SMS through eidhub's own OIDC, creates a
 * client (after a refused form that names its field and creates nothing), copies the secret shown
 * once, never sees it again, and revokes it; the secret works at the token endpoint until then.
 * A number that is not an admin is refused after its login. Changes must come from the console's
 * own origin with its CSRF token; the Admin API takes the console's session.
 *
 * With EIDHUB_CONSOLE_SCREENSHOTS=<folder> it also writes the screenshots of docs/console/.
 */
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { SAML } from '@node-saml/node-saml';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { browserSkipReason, launchBrowser } from './support/browser.js';
import { startEidhub, type RunningEidhub } from './support/eidhub.js';
import { CapturingSms } from './support/http-login.js';
import { makePemPair } from './support/saml-certs.js';

const ADMIN = '+447700900123';
const STRANGER = '+447700900999';
const SP = 'https://sp.example.test/saml/metadata';
const SCREENSHOTS = process.env.EIDHUB_CONSOLE_SCREENSHOTS;

describe('the admin console', { skip: browserSkipReason() }, () => {
  let eidhub: RunningEidhub;
  let browser: Browser;
  const sms = new CapturingSms();

  before(async () => {
    eidhub = await startEidhub({
      admins: [ADMIN],
      smsProvider: sms,
      oidcClients: [{ clientId: 'from-config', clientName: 'From the file', secrets: ['config-secret-0123456789abcdef'], redirectUris: ['https://rp.example/cb'] }],
      apiClients: [{ clientId: 'config-api', secrets: ['config-api-secret-0123456789'], permissions: ['authentication-rest-api'] }],
    });
    browser = await launchBrowser();
    if (SCREENSHOTS) mkdirSync(SCREENSHOTS, { recursive: true });
  });
  after(async () => {
    await browser?.close();
    await eidhub?.close();
  });

  const shoot = async (page: Page, name: string) => {
    if (SCREENSHOTS) await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });
  };

  /** Logs `phone` in from the console's login page, through the hosted SMS pages. */
  async function logIn(page: Page, phone: string, lands = /\/admin(\?|$)/): Promise<void> {
    await page.goto(`${eidhub.url}/admin`);
    assert.equal(await page.textContent('h1'), 'Log in');
    await shoot(page, 'login');
    await page.getByRole('button', { name: 'Log in with SMS' }).click();
    await page.waitForSelector('input[type=tel]');
    await page.fill('input[type=tel]', phone);
    await Promise.all([page.waitForSelector('input[autocomplete=one-time-code]'), page.press('input[type=tel]', 'Enter')]);
    await page.fill('input[autocomplete=one-time-code]', sms.lastCodeFor(phone));
    await Promise.all([page.waitForURL(lands), page.press('input[autocomplete=one-time-code]', 'Enter')]);
  }

  /** A token request with a code that never was: invalid_grant if the client's secret is right, invalid_client if not. */
  async function tokenAnswer(clientId: string, secret: string): Promise<string> {
    const res = await fetch(`${eidhub.issuer}/connect/token`, {
      method: 'POST',
      headers: { authorization: `Basic ${Buffer.from(`${clientId}:${secret}`).toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'authorization_code', code: 'no-such-code', redirect_uri: 'https://app.example/cb', code_verifier: 'v'.repeat(43) }),
    });
    return ((await res.json()) as { error: string }).error;
  }

  let admin: BrowserContext;
  let page: Page;

  it('logs an admin in by SMS and shows the figures of the last 30 days', async () => {
    admin = await browser.newContext({ permissions: ['clipboard-read', 'clipboard-write'], acceptDownloads: true });
    page = await admin.newPage();
    await logIn(page, ADMIN);
    assert.equal(await page.textContent('h1'), 'Overview');
    assert.match((await page.textContent('.who')) ?? '', /\+44 •+0123/, 'the masked number of the admin');
    // The admin's own login is a successful SMS login of country GB.
    assert.match((await page.textContent('main')) ?? '', /SMS sent per day, by country/);
    assert.equal(await page.locator('figure.chart svg rect').count() >= 2, true, 'a bar in each chart');
    assert.match((await page.locator('table').textContent()) ?? '', /GB\s*1\s*0\s*1/);
    const cookies = await admin.cookies();
    const session = cookies.find((c) => c.name === 'eidhub_admin');
    assert.ok(session?.httpOnly && session.sameSite === 'Strict' && session.path === '/admin', 'an HttpOnly, SameSite=Strict cookie scoped to /admin');
    await shoot(page, 'overview');
  });

  it('lists the clients, those of the config file marked read-only and not editable', async () => {
    await page.getByRole('link', { name: 'Clients' }).click();
    assert.equal(await page.textContent('h1'), 'Clients');
    const row = page.locator('tr', { hasText: 'from-config' });
    assert.match((await row.textContent()) ?? '', /read-only/);
    await shoot(page, 'clients');
    await row.getByRole('link').click();
    assert.match((await page.textContent('.alert')) ?? '', /comes from the config file/);
    assert.equal(await page.locator('fieldset[disabled] input#f-clientName').count(), 1, 'the settings are shown disabled');
    assert.equal(await page.getByRole('button', { name: /Delete|Revoke|Create secret/ }).count(), 0, 'no change offered');
  });

  let secret = '';
  it('refuses a bad client beside its field, creating nothing, then creates it and shows its secret once', async () => {
    await page.goto(`${eidhub.url}/admin/clients/new?kind=oidc`);
    await page.fill('#f-clientId', 'console-made');
    await page.fill('#f-clientName', 'Made in the console');
    await page.fill('#f-redirectUris', 'http://app.example/cb');
    await page.check('input[name=confidential]');
    await page.getByRole('button', { name: 'Create' }).click();
    const error = await page.textContent('.has-error .field-error');
    assert.match(error ?? '', /redirectUris\[0\]: must be an absolute https URL/, 'the error beside the redirect URIs');
    assert.equal(await page.inputValue('#f-clientName'), 'Made in the console', 'what was typed is kept');
    await shoot(page, 'client-form-error');
    assert.equal(eidhub.clients.get('console-made'), undefined, 'nothing was created');

    await page.fill('#f-redirectUris', 'https://app.example/cb\nhttps://app.example/cb2');
    await page.getByRole('button', { name: 'Create' }).click();
    assert.equal(await page.textContent('h1'), 'Client created');
    secret = await page.inputValue('#secret-value');
    assert.match(secret, /^[A-Za-z0-9_-]{43}$/);
    await page.getByRole('button', { name: 'Copy' }).click();
    await page.waitForSelector('#copy-status:has-text("Copied.")');
    assert.equal(await page.evaluate(() => navigator.clipboard.readText()), secret, 'the copy button put the secret on the clipboard');
    await shoot(page, 'secret-once');
    assert.equal(await tokenAnswer('console-made', secret), 'invalid_grant', 'the secret authenticates the client at once');

    await page.getByRole('link', { name: 'I have copied it' }).click();
    assert.equal(await page.textContent('h1'), 'Made in the console');
    assert.ok(!(await page.content()).includes(secret), 'the secret is never shown again');
    const row = (await page.locator('tr', { hasText: 'secret-1' }).textContent()) ?? '';
    assert.match(row, /secret-1\s*\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} UTC\s*\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} UTC/, 'created, and last used by the token request');
    await shoot(page, 'client');
    const reloaded = await page.goto(page.url());
    assert.ok(!(await reloaded!.text()).includes(secret));
  });

  it('edits the settings, and revokes the secret: it fails at once', async () => {
    await page.fill('#f-clientName', 'Renamed');
    await page.getByRole('button', { name: 'Save' }).click();
    assert.equal(await page.textContent('.notice'), 'Saved.');
    assert.equal(eidhub.clients.get('console-made')?.name, 'Renamed');

    page.once('dialog', (dialog) => void dialog.accept());
    await page.locator('tr', { hasText: 'secret-1' }).getByRole('button', { name: 'Revoke' }).click();
    await page.waitForSelector('.notice');
    assert.match((await page.textContent('.notice')) ?? '', /revoked/);
    assert.equal(await tokenAnswer('console-made', secret), 'invalid_client', 'the revoked secret fails');

    const events = await eidhub.store.audit.query({ clientId: 'console-made', limit: 10 });
    assert.deepEqual(
      events.events.map((e) => [e.type, e.data?.actor]),
      [
        ['admin.client.secret.revoked', 'console +44 ••••••0123'],
        ['admin.client.updated', 'console +44 ••••••0123'],
        ['admin.client.created', 'console +44 ••••••0123'],
      ],
      'each change audited with the admin who made it',
    );
  });

  it('shows the audit log, filtered, with its CSV export through the Admin API on the console session', async () => {
    await page.getByRole('link', { name: 'Audit log' }).click();
    await page.fill('#q-clientId', 'console-made');
    await page.getByRole('button', { name: 'Filter' }).click();
    assert.equal(await page.locator('tbody tr').count(), 3);
    await shoot(page, 'audit');
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: 'Export CSV' }).click()]);
    assert.match(download.suggestedFilename(), /^eidhub-audit-\d{4}-\d{2}-\d{2}\.csv$/);
    const csv = readFileSync((await download.path())!, 'utf8');
    assert.match(csv, /^at,type,clientId,transactionId,data\r\n/);
    assert.equal(csv.trim().split('\r\n').length, 4, 'the header and the three events');
  });

  it('takes changes only from its own origin with the CSRF token; the Admin API wants the token for a change', async () => {
    const cookie = (await admin.cookies()).map((c) => `${c.name}=${c.value}`).join('; ');
    const csrf = await page.getAttribute('input[name=csrf]', 'value');
    const post = (path: string, headers: Record<string, string>, body: string) =>
      fetch(`${eidhub.url}${path}`, { method: 'POST', redirect: 'manual', headers: { cookie, 'content-type': 'application/x-www-form-urlencoded', ...headers }, body });
    const crossSite = await post('/admin/clients/oidc/console-made/delete', { origin: 'https://evil.example' }, `csrf=${csrf}`);
    assert.equal(crossSite.status, 403, 'a cross-origin post with a valid token');
    const noToken = await post('/admin/clients/oidc/console-made/delete', { origin: eidhub.url }, 'csrf=wrong');
    assert.equal(noToken.status, 403, 'a same-origin post without the token');
    assert.ok(eidhub.clients.get('console-made'), 'nothing was deleted');

    const list = await fetch(`${eidhub.url}/admin/api/oidc-clients`, { headers: { cookie } });
    assert.equal(list.status, 200);
    assert.ok(((await list.json()) as { clientId: string }[]).some((c) => c.clientId === 'console-made'));
    const api = (headers: Record<string, string>) =>
      fetch(`${eidhub.url}/admin/api/oidc-clients/console-made/secrets`, { method: 'POST', headers: { cookie, 'content-type': 'application/json', origin: eidhub.url, ...headers }, body: JSON.stringify({ name: 'api-made' }) });
    assert.equal((await api({})).status, 403, 'no X-CSRF-Token');
    const made = await api({ 'x-csrf-token': csrf! });
    assert.equal(made.status, 201);
    const events = await eidhub.store.audit.query({ clientId: 'console-made', types: ['admin.client.secret.created'], limit: 1 });
    assert.equal(events.events[0]?.data?.actor, 'console +44 ••••••0123');
  });

  it('adds a SAML service provider from a metadata file, after refusing metadata that is not SAML, and removes it', async () => {
    const spKeys = await makePemPair('console SP');
    const metadata = new SAML({ issuer: SP, callbackUrl: 'https://sp.example.test/acs', idpCert: 'unused', privateKey: spKeys.privateKeyPem }).generateServiceProviderMetadata(null, spKeys.certificatePem);
    await page.getByRole('link', { name: 'SAML SPs' }).click();
    await page.getByRole('link', { name: 'New service provider' }).click();
    await page.fill('#f-entityId', SP);
    await page.fill('#f-metadata', '<html><body>not metadata</body></html>');
    await page.getByRole('button', { name: 'Add' }).click();
    assert.match((await page.textContent('.has-error .field-error')) ?? '', /./, 'an error beside the metadata');
    assert.equal(await page.locator('.has-error #f-metadata').count(), 1);
    assert.equal(eidhub.samlServiceProviders.list().length, 0, 'nothing was added');

    await page.setInputFiles('input[type=file][data-into=f-metadata]', { name: 'sp.xml', mimeType: 'application/xml', buffer: Buffer.from(metadata) });
    await page.waitForFunction((text) => (document.getElementById('f-metadata') as HTMLTextAreaElement).value === text, metadata);
    await page.getByRole('button', { name: 'Add' }).click();
    assert.equal(await page.textContent('h1'), SP);
    assert.match((await page.textContent('main')) ?? '', /https:\/\/sp\.example\.test\/acs/, 'the ACS its metadata names');
    assert.match((await page.textContent('main')) ?? '', /console SP/, 'its signing certificate');
    await shoot(page, 'saml-sp');
    assert.ok(await eidhub.samlServiceProviders.find(SP));

    page.once('dialog', (dialog) => void dialog.accept());
    await page.getByRole('button', { name: 'Remove' }).click();
    await page.waitForURL(/\/admin\/saml\?done=deleted$/);
    assert.equal(await eidhub.samlServiceProviders.find(SP), undefined);
    const events = await eidhub.store.audit.query({ clientId: SP, limit: 5 });
    assert.deepEqual(events.events.map((e) => e.type), ['admin.saml_sp.deleted', 'admin.saml_sp.created']);
  });

  it('deletes a client after asking', async () => {
    await page.goto(`${eidhub.url}/admin/clients/oidc/console-made`);
    page.once('dialog', (dialog) => void dialog.accept());
    await page.getByRole('button', { name: 'Delete console-made' }).click();
    await page.waitForURL(/\/admin\/clients\?done=deleted$/);
    assert.equal(eidhub.clients.get('console-made'), undefined);
  });

  it('works on a phone-sized screen', async () => {
    const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true, storageState: await admin.storageState() });
    const small = await phone.newPage();
    await small.goto(`${eidhub.url}/admin/clients`);
    const overflow = await small.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 1, `the page does not scroll sideways (${overflow}px)`);
    await shoot(small, 'clients-phone');
    await phone.close();
  });

  it('logs out: the session ends on the server', async () => {
    const cookie = (await admin.cookies()).map((c) => `${c.name}=${c.value}`).join('; ');
    await page.goto(`${eidhub.url}/admin`);
    await page.getByRole('button', { name: 'Log out' }).click();
    assert.equal(await page.textContent('h1'), 'Log in');
    const after = await fetch(`${eidhub.url}/admin/api/oidc-clients`, { headers: { cookie } });
    assert.equal(after.status, 401, 'the old cookie opens nothing');
    await admin.close();
  });

  it('refuses a number that is not an admin, after its login, and audits it', async () => {
    const context = await browser.newContext();
    const stranger = await context.newPage();
    try {
      await logIn(stranger, STRANGER, /\/admin\/callback\?/);
      assert.equal(await stranger.textContent('h1'), 'Log in');
      assert.match((await stranger.textContent('.alert')) ?? '', /This phone number may not open the console/);
      assert.equal((await context.cookies()).some((c) => c.name === 'eidhub_admin'), false, 'no session');
      const res = await stranger.goto(`${eidhub.url}/admin/clients`);
      assert.equal(res?.status(), 401);
      const refused = await eidhub.store.audit.query({ types: ['admin.console.refused'], limit: 1 });
      assert.equal(refused.events[0]?.data?.phoneNumber, '+44 ••••••0999');
      assert.ok(!eidhub.logText().includes(STRANGER) && !eidhub.logText().includes(STRANGER.slice(1)), 'the number is not in the log');
    } finally {
      await context.close();
    }
  });
});

describe('the admin console without admins', () => {
  it('is off, and says how to turn it on; no console client exists', async () => {
    const eidhub = await startEidhub({});
    try {
      const res = await fetch(`${eidhub.url}/admin`);
      assert.equal(res.status, 404);
      assert.match(await res.text(), /<code>admins<\/code>/);
      assert.equal(eidhub.clients.get('eidhub-console'), undefined);
    } finally {
      await eidhub.close();
    }
  });
});
