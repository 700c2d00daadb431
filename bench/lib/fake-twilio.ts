/**
 * The Twilio Messages API on 127.0.0.1, for load: the test suite's fake (test/fakes/twilio.ts,
 * the same wire protocol: path, HTTP Basic, form fields, 201 with a message resource) without
 * its message list, which in a 60 s soak would grow without bound. This keeps only the latest
 * code per number and forgets it once read, so that a number reused across logins never yields
 * an old code.
 */
import { startFakeTwilio } from '../../test/fakes/twilio.js';
import { smsCodeOf } from '../../test/support/http-login.js';

export interface BenchTwilio {
  readonly url: string;
  /** The 6-digit code last sent to `to`, removed from the fake once taken; undefined if none. */
  takeCode(to: string): string | undefined;
  close(): Promise<void>;
}

export const TWILIO_ACCOUNT = { accountSid: 'ACbench0000000000000000000000000000', authToken: 'bench-twilio-auth-token-0001' };

export async function startBenchTwilio(): Promise<BenchTwilio> {
  const fake = await startFakeTwilio(TWILIO_ACCOUNT, { retainMessages: false });
  const codes = new Map<string, string>();
  fake.onMessage((message) => {
    // Both servers end the SMS with `… #123456`; the peer uses eidhub's format on purpose.
    const code = smsCodeOf(message.body);
    if (code) codes.set(message.to, code);
  });
  return {
    url: fake.url,
    takeCode(to) {
      const code = codes.get(to);
      codes.delete(to);
      return code;
    },
    close: () => fake.close(),
  };
}
