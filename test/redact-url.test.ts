/** The URL as eidhub logs it (src/http/redact-url.ts): every value that could identify a person or grant access is replaced. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { redactUrl } from '../src/http/redact-url.js';

describe('redactUrl', () => {
  it('replaces codes, hints, state, nonce, request objects and SAML messages, and keeps the rest', () => {
    const url =
      '/auth/open/connect/authorize?client_id=shop&login_hint=mobile%3A%2B447700900123&state=abc&nonce=n-1&request=eyJhbGciOiJSUzI1NiJ9.eyJzdGF0ZSI6InMifQ.sig&acr_values=idp%3Aitsme';
    const logged = redactUrl(url);
    for (const secret of ['447700900123', 'abc', 'n-1', 'eyJ']) assert.ok(!logged.includes(secret), `${secret} in ${logged}`);
    assert.match(logged, /client_id=shop/);
    assert.match(logged, /acr_values=idp%3Aitsme/);
    assert.match(logged, /request=%5Bredacted%5D/);

    const saml = redactUrl('/auth/saml/sso?SAMLRequest=fZJNT8MwDIb%2FSu5Rm&RelayState=r1&SigAlg=x&Signature=y');
    assert.equal(saml, '/auth/saml/sso?SAMLRequest=%5Bredacted%5D&RelayState=r1&SigAlg=x&Signature=y');
    assert.equal(redactUrl('/login/tx1/callback?code=c0de&state=s'), '/login/tx1/callback?code=%5Bredacted%5D&state=%5Bredacted%5D');
    assert.equal(redactUrl('/no/query'), '/no/query');
  });
});
