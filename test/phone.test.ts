import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parsePhoneNumber, phoneForRecords } from '../src/authenticators/otp-sms/phone.js';
import { parseLoginHint } from '../src/protocols/oidc/login-hint.js';
import { maskPhoneNumber } from '../src/sms/phone-mask.js';
import { normalizeSender } from '../src/authenticators/otp-sms/sender.js';

const anyCountry = { allowedCountries: [] };

describe('parsePhoneNumber', () => {
  it('accepts the Ofcom drama range as a UK mobile', () => {
    for (const input of ['+447700900000', '+447700900999', '+44 7700 900123', '0044 7700 900123', '+44 (0)7700 900123']) {
      const expected = `+447700900${input.replace(/\D/g, '').slice(-3)}`;
      assert.deepEqual(parsePhoneNumber(input, anyCountry), { ok: true, e164: expected, country: 'GB', masked: maskPhoneNumber(expected) }, input);
    }
    assert.deepEqual(parsePhoneNumber('+447700900000', { allowedCountries: ['GB'] }), { ok: true, e164: '+447700900000', country: 'GB', masked: '+44 ••••••0000' });
    assert.deepEqual(parsePhoneNumber('+447700900000', { allowedCountries: ['NO'] }), { ok: false, reason: 'countryNotAllowed' });
  });

  it('accepts mobiles of the Nordic countries, the Netherlands and Greece, however they are written', () => {
    const cases: [string, string, string][] = [
      ['+47 912 34 567', '+4791234567', 'NO'],
      ['0047-912-34-567', '+4791234567', 'NO'],
      ['+45 20 12 34 56', '+4520123456', 'DK'],
      ['+46 (70) 123 45 67', '+46701234567', 'SE'],
      ['+358 40 123 4567', '+358401234567', 'FI'],
      ['+31 6 12345678', '+31612345678', 'NL'],
      ['+30 691 234 5678', '+306912345678', 'GR'],
      ['  +1 (201) 555-0123 ', '+12015550123', 'US'],
    ];
    for (const [input, e164, country] of cases) {
      assert.deepEqual(parsePhoneNumber(input, anyCountry), { ok: true, e164, country, masked: maskPhoneNumber(e164) }, input);
    }
  });

  it('refuses numbers that cannot receive an SMS', () => {
    const cases: [string, string][] = [
      ['+44 20 7946 0000', 'notMobile'], // London fixed line
      ['+47 22 22 55 55', 'notMobile'], // Oslo fixed line
      ['+44 56 1234 5678', 'notMobile'], // UK VoIP
      ['+44 909 879 0000', 'premium'], // UK premium rate
      ['+33 899 123 456', 'premium'], // French premium rate
      ['+1 800 555 0199', 'premium'], // US toll free
    ];
    for (const [input, reason] of cases) assert.deepEqual(parsePhoneNumber(input, anyCountry), { ok: false, reason }, input);
  });

  it('refuses what is not an international number', () => {
    assert.deepEqual(parsePhoneNumber('', anyCountry), { ok: false, reason: 'required' });
    assert.deepEqual(parsePhoneNumber('   ', anyCountry), { ok: false, reason: 'required' });
    for (const input of ['hello', '+', '++447700900000', '91234567', '07700 900000', '+47 912 34 567 x', '+4520', '+44 7700 90000a', `+47${'1'.repeat(60)}`]) {
      assert.deepEqual(parsePhoneNumber(input, anyCountry), { ok: false, reason: 'invalid' }, input);
    }
  });

  it('limits numbers to allowedCountries', () => {
    const nordic = { allowedCountries: ['NO', 'DK', 'SE', 'FI'] };
    assert.equal(parsePhoneNumber('+46701234567', nordic).ok, true);
    assert.deepEqual(parsePhoneNumber('+31612345678', nordic), { ok: false, reason: 'countryNotAllowed' });
    assert.deepEqual(parsePhoneNumber('+4915112345678', { allowedCountries: ['NO'] }), { ok: false, reason: 'countryNotAllowed' });
  });
});

describe('phoneForRecords', () => {
  it('gives the masked number and its country, never the number', () => {
    assert.deepEqual(phoneForRecords('+447700900123'), { masked: '+44 ••••••0123', country: 'GB' });
    assert.deepEqual(phoneForRecords('+32470123456'), { masked: '+32 •••••3456', country: 'BE' });
  });

  it('has no country for a number it cannot place, and masks it all the same', () => {
    assert.deepEqual(phoneForRecords('+999123456789'), { masked: maskPhoneNumber('+999123456789'), country: undefined });
  });
});

describe('maskPhoneNumber', () => {
  it('shows the country calling code and the last four digits', () => {
    assert.equal(maskPhoneNumber('+447700900000'), '+44 ••••••0000');
    assert.equal(maskPhoneNumber('+4791234567'), '+47 ••••4567');
    assert.equal(maskPhoneNumber('+358401234567'), '+358 •••••4567');
    assert.equal(maskPhoneNumber('+12015550123'), '+1 ••••••0123');
  });

  it('never shows more than half of a short number', () => {
    assert.equal(maskPhoneNumber('+4712345'), '+47 •••45');
  });
});

describe('parseLoginHint', () => {
  const mobile = (value: string) => ({ name: 'mobile', value });
  it('reads the number from mobile:<number>', () => {
    assert.deepEqual(parseLoginHint('mobile:+447700900000'), mobile('+447700900000'));
    assert.deepEqual(parseLoginHint('mobile:+44 7700 900000'), mobile('+44 7700 900000'));
    // `login_hint=mobile:+4477…` sent without percent-encoding the `+`.
    assert.deepEqual(parseLoginHint(new URLSearchParams('login_hint=mobile:+447700900000').get('login_hint') ?? ''), mobile('+447700900000'));
  });

  it('gives any other <name>:<value> hint to the authenticator, which decides', () => {
    assert.deepEqual(parseLoginHint('email:someone@example.com'), { name: 'email', value: 'someone@example.com' });
  });

  it('ignores hints that are not <name>:<value>', () => {
    for (const hint of ['', 'mobile:', 'mobile:  ', '+447700900000', ':x', undefined, 42]) {
      assert.equal(parseLoginHint(hint), null, String(hint));
    }
  });
});

describe('normalizeSender', () => {
  it('turns __ into a space', () => {
    assert.deepEqual(normalizeSender('Signicat__AS'), { ok: true, sender: 'Signicat AS' });
    assert.deepEqual(normalizeSender('Signi__Kitn'), { ok: true, sender: 'Signi Kitn' });
  });

  it('accepts an alphanumeric sender of up to 11 characters and an E.164 number', () => {
    for (const sender of ['eidhub', 'A', 'Bank 24', 'ABCDEFGHIJK', '+4712345678']) {
      assert.deepEqual(normalizeSender(sender), { ok: true, sender });
    }
  });

  it('says what is wrong with a sender it refuses', () => {
    assert.deepEqual(normalizeSender('Signi__Kitten'), {
      ok: false,
      message: 'otp_sms_sender: "Signi Kitten" is 12 characters; alphanumeric senders may have at most 11',
    });
    assert.deepEqual(normalizeSender('12345'), {
      ok: false,
      message: 'otp_sms_sender: "12345" is digits only; a numeric sender must be an E.164 number such as +4712345678',
    });
    assert.deepEqual(normalizeSender('Sign!n-Bank'), {
      ok: false,
      message: 'otp_sms_sender: "Sign!n-Bank" contains "!", "-"; alphanumeric senders may contain only letters A–Z, digits and spaces',
    });
    assert.match(rejection('Kätten'), /contains "ä"/);
    assert.match(rejection('+12'), /is not an E\.164 number/);
    assert.match(rejection(''), /must not be empty/);
    assert.match(rejection('Signicat__'), /"Signicat " may not begin or end with a space/);
  });
});

function rejection(raw: string): string {
  const result = normalizeSender(raw);
  assert.equal(result.ok, false, raw);
  return result.ok ? '' : result.message;
}
