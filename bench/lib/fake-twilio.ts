/**
 * The Twilio Messages API on 127.0.0.1, for load: the test suite's fake (test/fakes/twilio.ts,
 * the same wire protocol: path, HTTP Basic, form fields, 201 with a message resource) without
 * its message list, which in a 60 s soak would grow without bound. This keeps only the latest
 * message per number and forgets it once read, so that a number reused across logins never
 * yields an old code.
 */
import { startFakeTwilio } from '../../test/fakes/twilio.js';
import { smsCodeOf } from '../../test/support/http-login.js';

export interface BenchTwilio {
  readonly url: string;
  /** The 6-digit code of the hosted pages' SMS (`… #123456`) last sent to `to`, removed from the fake once taken; undefined if none. */
  takeCode(to: string): string | undefined;
  /**
   * The body of the SMS last sent to `to`, removed once taken; if none has come yet, the first
   * one to come within `timeoutMs` (undefined if none does). `waitedMs` is 0 when it was already in.
   */
  takeMessage(to: string, timeoutMs: number): Promise<{ body: string; waitedMs: number } | undefined>;
  close(): Promise<void>;
}

export const TWILIO_ACCOUNT = { accountSid: 'ACbench0000000000000000000000000000', authToken: 'bench-twilio-auth-token-0001' };

export async function startBenchTwilio(): Promise<BenchTwilio> {
  const fake = await startFakeTwilio(TWILIO_ACCOUNT, { retainMessages: false });
  const bodies = new Map<string, string>();
  const waiting = new Map<string, (body: string) => void>();
  fake.onMessage((message) => {
    const waiter = waiting.get(message.to);
    if (waiter) {
      waiting.delete(message.to);
      waiter(message.body);
    } else bodies.set(message.to, message.body);
  });
  const take = (to: string) => {
    const body = bodies.get(to);
    bodies.delete(to);
    return body;
  };
  return {
    url: fake.url,
    takeCode(to) {
      // Both servers end the hosted pages' SMS with `… #123456`; the peer uses eidhub's format on purpose.
      const body = take(to);
      return body === undefined ? undefined : smsCodeOf(body);
    },
    takeMessage(to, timeoutMs) {
      const body = take(to);
      if (body !== undefined) return Promise.resolve({ body, waitedMs: 0 });
      const started = performance.now();
      return new Promise((resolve) => {
        const timer = setTimeout(() => {
          waiting.delete(to);
          resolve(undefined);
        }, timeoutMs);
        waiting.set(to, (late) => {
          clearTimeout(timer);
          resolve({ body: late, waitedMs: performance.now() - started });
        });
      });
    },
    close: () => fake.close(),
  };
}
