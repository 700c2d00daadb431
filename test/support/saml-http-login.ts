/**
 * A SAML login without a browser: a service provider's AuthnRequest URL (HTTP-Redirect binding),
 * the hosted pages' phone and code steps, and the Response the final page would post to the SP's
 * ACS, for tests that check an SP works rather than how a browser renders it.
 */
import assert from 'node:assert/strict';
import { Browserless, csrfOf } from './http-login.js';

/** The SAMLResponse (base64) of a login started at `authorizeUrl`; `codeFor` gives the SMS code sent to `phone`. */
export async function samlLoginOverHttp(opts: { origin: string; authorizeUrl: string; phone: string; codeFor: (since: number) => Promise<string> }): Promise<string> {
  const agent = new Browserless(opts.origin);
  const page = await agent.get(opts.authorizeUrl);
  assert.equal(page.res.status, 200, `the hosted page, not an error page: ${/<p class="technical">([^<]*)</.exec(page.body)?.[1] ?? page.body.slice(0, 300)}`);
  const since = Date.now();
  const afterPhone = await agent.post(`${page.url}/phone`, { csrf: csrfOf(page.body), phone: opts.phone });
  const done = await agent.post(`${page.url}/code`, { csrf: csrfOf(afterPhone.body), code: await opts.codeFor(since) });
  const response = /name="SAMLResponse" value="([^"]+)"/.exec(done.body)?.[1];
  assert.ok(response, `the final page posts a SAMLResponse (status ${done.res.status})`);
  return response;
}
