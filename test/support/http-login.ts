/**
 * A login driven over plain HTTP, as a browser would do it without JavaScript: follow redirects
 * with a cookie jar, read the CSRF field from the page, post the forms. For tests and benchmarks
 * that need many logins without a real browser.
 */
import type { SmsMessage, SmsProvider } from '../../src/sms/types.js';

/** The 6-digit code at the end of an SMS (its WebOTP line `@host #123456`), or undefined. */
export function smsCodeOf(body: string): string | undefined {
  return /#(\d{6})\s*$/.exec(body)?.[1];
}

/** An SMS provider that keeps messages in memory, for in-process tests and benchmarks. */
export class CapturingSms implements SmsProvider {
  readonly name = 'capture';
  readonly sent: SmsMessage[] = [];
  async send(message: SmsMessage) {
    this.sent.push(message);
    return {};
  }
  lastCodeFor(to: string): string {
    const msg = [...this.sent].reverse().find((m) => m.to === to);
    const code = msg && smsCodeOf(msg.body);
    if (!code) throw new Error(`no code was sent to ${to.slice(0, 4)}…`);
    return code;
  }
}

/**
 * A browser's cookie jar, reduced to what a login needs: every cookie is sent on every request to
 * the one server (paths are ignored), and a cookie set with a past expiry or max-age=0 is removed.
 * Shared by Browserless and the benchmark's driver.
 */
export class CookieJar {
  private readonly cookies = new Map<string, string>();

  /** Takes the Set-Cookie lines of an answer. */
  take(setCookies: readonly string[]): void {
    for (const line of setCookies) {
      const semi = line.indexOf(';');
      const pair = semi < 0 ? line : line.slice(0, semi);
      const eq = pair.indexOf('=');
      if (eq < 0) continue;
      const name = pair.slice(0, eq).trim();
      if (/max-age=0(?:;|$)/i.test(line) || /expires=thu, 01 jan 1970/i.test(line)) this.cookies.delete(name);
      else this.cookies.set(name, pair.slice(eq + 1));
    }
  }

  /** The Cookie header to send ('' when the jar is empty). */
  header(): string {
    let out = '';
    for (const [k, v] of this.cookies) out += `${out ? '; ' : ''}${k}=${v}`;
    return out;
  }
}

export class Browserless {
  private readonly jar = new CookieJar();
  constructor(private readonly origin: string) {}

  private store(res: Response) {
    this.jar.take(res.headers.getSetCookie());
  }

  private headers(): Record<string, string> {
    return { cookie: this.jar.header() };
  }

  /** GET with redirects followed while they stay on eidhub; returns the final response and URL. */
  async get(url: string, stopAt?: string): Promise<{ res: Response; url: string; body: string }> {
    let current = new URL(url, this.origin).href;
    for (let hops = 0; hops < 10; hops++) {
      const res = await fetch(current, { redirect: 'manual', headers: this.headers() });
      this.store(res);
      const location = res.headers.get('location');
      if (res.status >= 300 && res.status < 400 && location) {
        current = new URL(location, current).href;
        if (stopAt && current.startsWith(stopAt)) return { res, url: current, body: '' };
        continue;
      }
      return { res, url: current, body: await res.text() };
    }
    throw new Error('too many redirects');
  }

  /** POSTs a form on a hosted page; follows the redirects that may follow. */
  async post(url: string, form: Record<string, string>, stopAt?: string): Promise<{ res: Response; url: string; body: string }> {
    const res = await fetch(new URL(url, this.origin), {
      method: 'POST',
      redirect: 'manual',
      headers: { ...this.headers(), 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(form).toString(),
    });
    this.store(res);
    const location = res.headers.get('location');
    if (res.status >= 300 && res.status < 400 && location) {
      const next = new URL(location, url).href;
      if (stopAt && next.startsWith(stopAt)) return { res, url: next, body: '' };
      return this.get(next, stopAt);
    }
    return { res, url, body: await res.text() };
  }
}

export function csrfOf(html: string): string {
  const csrf = /name="csrf" value="([^"]+)"/.exec(html)?.[1];
  if (!csrf) throw new Error('no csrf field on the page');
  return csrf;
}

/** Runs authorize → phone → code and returns the callback URL the relying party receives. */
export async function loginOverHttp(opts: { origin: string; authorizeUrl: string; redirectUri: string; phone: string; sms: CapturingSms }): Promise<URL> {
  const agent = new Browserless(opts.origin);
  const page = await agent.get(opts.authorizeUrl, opts.redirectUri);
  if (page.url.startsWith(opts.redirectUri)) return new URL(page.url);
  const base = page.url;
  const afterPhone = await agent.post(`${base}/phone`, { csrf: csrfOf(page.body), phone: opts.phone });
  const done = await agent.post(`${base}/code`, { csrf: csrfOf(afterPhone.body), code: opts.sms.lastCodeFor(opts.phone) }, opts.redirectUri);
  if (!done.url.startsWith(opts.redirectUri)) throw new Error(`login did not reach the relying party (ended at ${done.url}, status ${done.res.status})`);
  return new URL(done.url);
}
