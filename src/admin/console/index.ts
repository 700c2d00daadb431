/**
 * The admin console at /admin (CONTRACT §9): people whose numbers are in config `admins` log in
 * through eidhub's own OIDC with an SMS code (login.ts), and then see the SMS and login figures,
 * manage the clients and their secrets (through the AdminService, as the Admin API does), and
 * read the audit log. Its session (session.ts) also opens the Admin API, for the CSV export and
 * for scripts in the admin's browser, with the CSRF token on every change.
 *
 * Every POST must come from eidhub's own origin (`Origin`, or `Sec-Fetch-Site` without one) and
 * carry the session's CSRF token; every page is no-store, framed by nobody, under the hosted
 * pages' CSP.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { auditQueryFromParams, countsRangeFromParams, encodeAuditCursor, type QueryParams } from '../../audit/query-params.js';
import type { ClientRegistry } from '../../clients/registry.js';
import { EidhubError, type FieldIssue } from '../../core/errors.js';
import { isSameOriginPost, newNonce, setPageHeaders } from '../../http/security.js';
import { maskPhoneNumber } from '../../sms/phone-mask.js';
import { escapeHtml as escape } from '../../ui/i18n.js';
import type { AuditEvent, AuditStore, OidcModelStore } from '../../store/types.js';
import { ADMIN_BASE } from '../routes.js';
import { presentServiceProvider, SAML_SP_REQUEST_SCHEMA } from '../saml-routes.js';
import { AdminService, clientSettings, type ClientKind, type ClientRef } from '../service.js';
import { daysBetween, stackedBarChart } from './chart.js';
import { formFields, readForm, renderFields, schemaFields, type PostedForm } from './forms.js';
import { CALLBACK_PATH, CONSOLE_PATH, ConsoleRelyingParty, type PendingLogin } from './login.js';
import { auditBody, clientBody, clientPath, clientsBody, layout, loginBody, overviewBody, readOnlyReason, refOf, secretBody, settingsFormBody, spBody, spPath, spsBody, type Frame } from './pages.js';
import { ConsoleSessions, LOGIN_COOKIE, SESSION_COOKIE, type ConsoleSession } from './session.js';

export interface ConsoleDeps {
  service: AdminService;
  registry: ClientRegistry;
  audit: AuditStore;
  /** The store's expiring records, where console sessions are kept. */
  sessions: OidcModelStore;
  /** Config `admins`: E.164 numbers. */
  admins: readonly string[];
  publicUrl: string;
  secureCookies: boolean;
  /** The console client's secret (login.ts, consoleClientSecret). */
  clientSecret: string;
  /** The enabled authenticators: the choices of an OIDC client's allowedProviders. */
  providers: readonly string[];
  logger: Logger;
  now: () => number;
}

/** What the Admin API asks of the console: who a request with the session's cookie is, if anyone. */
export type ConsoleApiAuth = (req: FastifyRequest) => Promise<string | undefined>;

const KINDS: readonly ClientKind[] = ['oidc', 'api', 'realm'];
const CHART_DAYS = 30;
const LOGIN_WINDOW_S = 600;
/** Feedback after a redirect: fixed texts chosen by a word in the query, so nothing a link says is echoed. */
const NOTICES: Readonly<Record<string, string>> = { saved: 'Saved.', deleted: 'The client was deleted.', revoked: 'The secret was revoked; it no longer works.', created: 'The client was created.' };

type ClientParams = { kind?: string; realm?: string; clientId: string; name?: string };

/** What a refusal says of the form's fields; a refusal about no field is shown at `fallback` (the form's id field). */
function issuesOf(err: EidhubError | undefined, fallback: string): readonly FieldIssue[] {
  if (!err) return [];
  return err.issues.length > 0 ? err.issues : [{ field: fallback, message: err.message }];
}

export function registerConsole(app: FastifyInstance, deps: ConsoleDeps): ConsoleApiAuth {
  const { service, logger } = deps;
  const admins = new Set(deps.admins);
  const sessions = new ConsoleSessions(deps.sessions, admins, deps.secureCookies, deps.now);
  const rp = new ConsoleRelyingParty(app, deps.publicUrl, deps.clientSecret);
  const origin = new URL(deps.publicUrl).origin;

  const send = (reply: FastifyReply, status: number, frame: Omit<Frame, 'nonce'>, body: string) => {
    const nonce = newNonce();
    setPageHeaders(reply, { nonce, frameAncestors: ["'none'"], formActionOrigins: [] });
    // The console's own forms then carry their Origin, which its checks read.
    reply.header('referrer-policy', 'same-origin');
    return reply.code(status).send(layout({ ...frame, nonce }, body));
  };
  const frameOf = (session: ConsoleSession, title: string, section: Frame['section'], notice?: string): Omit<Frame, 'nonce'> => ({
    title,
    section,
    admin: { label: session.actor.replace(/^console /, ''), csrf: session.csrf },
    notice,
  });
  const loginPage = (reply: FastifyReply, status: number, message?: string) => send(reply, status, { title: 'Log in', section: 'none' }, loginBody(message));

  /** The session of a page request; without one the login page is answered and undefined returned. */
  const pageSession = async (req: FastifyRequest, reply: FastifyReply): Promise<ConsoleSession | undefined> => {
    const session = await sessions.of(req);
    if (!session) await loginPage(reply, 401, req.cookies[SESSION_COOKIE] ? 'Your session has ended. Log in again.' : undefined);
    return session;
  };
  const sameOrigin = (req: FastifyRequest): boolean => isSameOriginPost(req, origin);
  /** The session of a change: same origin, a live session, and its CSRF token; otherwise EidhubError 403 (or the login page). */
  const changeSession = async (req: FastifyRequest, reply: FastifyReply): Promise<ConsoleSession | undefined> => {
    if (!sameOrigin(req)) throw new EidhubError(403, 'cross_origin', 'the console takes changes only from its own pages');
    const session = await pageSession(req, reply);
    if (session && !ConsoleSessions.csrfMatches(session, (req.body as PostedForm | undefined)?.csrf)) {
      throw new EidhubError(403, 'csrf', 'the form is out of date; go back, reload the page and try again');
    }
    return session;
  };
  const notFoundPage = (reply: FastifyReply, session: ConsoleSession, err: EidhubError) => send(reply, 404, frameOf(session, 'Not found', 'clients'), `<p class="alert alert-danger">${escape(err.message)}</p><p><a href="${CONSOLE_PATH}/clients">All clients</a></p>`);

  app.register(async (scope) => {
    scope.addHook('onRequest', async (_req, reply) => {
      if (admins.size === 0) {
        const nonce = newNonce();
        setPageHeaders(reply, { nonce, frameAncestors: ["'none'"], formActionOrigins: [] });
        return reply
          .code(404)
          .send(layout({ title: 'The console is off', section: 'none', nonce }, '<section class="panel narrow"><p class="lead">List the phone numbers of the administrators in the config file\'s <code>admins</code> and restart eidhub.</p></section>'));
      }
      return undefined;
    });

    scope.get(CONSOLE_PATH, async (req, reply) => {
      const session = await sessions.of(req);
      if (!session) return loginPage(reply, 200);
      const range = countsRangeFromParams({}, deps.now());
      const [sms, logins] = await Promise.all([deps.audit.smsCounts(range), deps.audit.loginCounts(range)]);
      const days = daysBetween(range.to - (CHART_DAYS - 1) * 86_400_000, range.to);
      const country = (c: string | null) => c ?? 'unknown';
      const totals = new Map<string, { country: string; sent: number; failed: number; logins: number }>();
      const total = (c: string) => totals.get(c) ?? totals.set(c, { country: c, sent: 0, failed: 0, logins: 0 }).get(c)!;
      for (const r of sms) {
        const t = total(country(r.country));
        t.sent += r.sent;
        t.failed += r.failed;
      }
      for (const r of logins) total(country(r.country)).logins += r.succeeded;
      return send(
        reply,
        200,
        frameOf(session, 'Overview', 'overview'),
        overviewBody({
          smsChart: stackedBarChart('SMS sent per day, by country', days, sms.map((r) => ({ day: r.day, series: country(r.country), value: r.sent }))),
          loginChart: stackedBarChart('Successful logins per day, by country', days, logins.map((r) => ({ day: r.day, series: country(r.country), value: r.succeeded }))),
          totals: [...totals.values()].sort((a, b) => b.sent + b.logins - (a.sent + a.logins)),
          days: CHART_DAYS,
        }),
      );
    });

    scope.get(`${CONSOLE_PATH}/login`, async (_req, reply) => {
      const { pending, url } = await rp.start();
      reply.setCookie(LOGIN_COOKIE, `${pending.state}.${pending.nonce}.${pending.verifier}`, { path: CONSOLE_PATH, httpOnly: true, sameSite: 'lax', secure: deps.secureCookies, maxAge: LOGIN_WINDOW_S });
      return reply.redirect(url, 303);
    });

    scope.get<{ Querystring: Record<string, string | undefined> }>(CALLBACK_PATH, async (req, reply) => {
      const [state, nonce, verifier] = (req.cookies[LOGIN_COOKIE] ?? '').split('.');
      reply.clearCookie(LOGIN_COOKIE, { path: CONSOLE_PATH });
      if (!state || !nonce || !verifier) return loginPage(reply, 400, 'The login took too long, or was started in another browser. Log in again.');
      if (req.query.error) return loginPage(reply, 200, req.query.error === 'access_denied' ? 'The login was cancelled.' : 'The login did not complete. Log in again.');
      const pending: PendingLogin = { state, nonce, verifier };
      let identity;
      try {
        identity = await rp.finish(new URL(req.url, deps.publicUrl), pending);
      } catch (err) {
        logger.warn({ reason: (err as Error).message }, 'console: a login was not accepted');
        return loginPage(reply, 400, 'The login could not be completed. Log in again.');
      }
      const masked = maskPhoneNumber(identity.phoneNumber);
      if (!admins.has(identity.phoneNumber)) {
        await deps.audit.append({ type: 'admin.console.refused', at: deps.now(), data: { phoneNumber: masked } });
        logger.warn({ phoneNumber: masked }, 'console: a number that is not an admin logged in, and was refused');
        return loginPage(reply, 403, 'This phone number may not open the console.');
      }
      const actor = `console ${masked}`;
      await sessions.open(reply, identity.phoneNumber, actor);
      await deps.audit.append({ type: 'admin.console.login', at: deps.now(), data: { actor } });
      return reply.redirect(CONSOLE_PATH, 303);
    });

    scope.post(`${CONSOLE_PATH}/logout`, async (req, reply) => {
      if (!sameOrigin(req)) throw new EidhubError(403, 'cross_origin', 'the console takes changes only from its own pages');
      const session = await sessions.of(req);
      if (session && ConsoleSessions.csrfMatches(session, (req.body as PostedForm | undefined)?.csrf)) {
        await sessions.close(req, reply);
        await deps.audit.append({ type: 'admin.console.logout', at: deps.now(), data: { actor: session.actor } });
      }
      return reply.redirect(CONSOLE_PATH, 303);
    });

    scope.get<{ Querystring: { done?: string } }>(`${CONSOLE_PATH}/clients`, async (req, reply) => {
      const session = await pageSession(req, reply);
      if (!session) return reply;
      const groups = [
        { kind: 'oidc' as const, clients: service.list('oidc') },
        { kind: 'api' as const, clients: service.list('api') },
        ...service.realms.map((realm) => ({ kind: 'realm' as const, realm, clients: service.list('realm', realm) })),
      ];
      return send(reply, 200, frameOf(session, 'Clients', 'clients', NOTICES[req.query.done ?? '']), clientsBody(groups));
    });

    /** The new-client form of `kind` (of `realm`), with what was posted and what was wrong with it. */
    const newClientPage = (reply: FastifyReply, session: ConsoleSession, status: number, kind: ClientKind, realm: string | undefined, values: Record<string, unknown>, err?: EidhubError) => {
      const fields = formFields(kind, true, deps.providers);
      const action = `${CONSOLE_PATH}/clients/new?kind=${kind}${realm ? `&realm=${encodeURIComponent(realm)}` : ''}`;
      const form = settingsFormBody({ action, csrf: session.csrf, fields: renderFields(fields, values, issuesOf(err, 'clientId'), { readOnly: false, creating: true }), readOnly: false, submit: 'Create' });
      return send(reply, status, frameOf(session, `New ${kind === 'realm' ? `client of realm ${realm}` : kind === 'oidc' ? 'OIDC client' : 'API client'}`, 'clients'), `<section class="panel">${form}</section>`);
    };
    const kindOf = (q: { kind?: string; realm?: string }): { kind: ClientKind; realm: string | undefined } => {
      const kind = KINDS.find((k) => k === q.kind);
      if (!kind) throw new EidhubError(400, 'invalid_request', 'kind: one of oidc, api, realm');
      service.checkRealm(kind, q.realm);
      return { kind, realm: kind === 'realm' ? q.realm : undefined };
    };

    scope.get<{ Querystring: { kind?: string; realm?: string } }>(`${CONSOLE_PATH}/clients/new`, async (req, reply) => {
      const session = await pageSession(req, reply);
      if (!session) return reply;
      const { kind, realm } = kindOf(req.query);
      return newClientPage(reply, session, 200, kind, realm, {});
    });

    scope.post<{ Querystring: { kind?: string; realm?: string }; Body: PostedForm }>(`${CONSOLE_PATH}/clients/new`, async (req, reply) => {
      const session = await changeSession(req, reply);
      if (!session) return reply;
      const { kind, realm } = kindOf(req.query);
      const { confidential, ...settings } = readForm(formFields(kind, true, deps.providers), req.body);
      try {
        const { client, secret } = await service.create(kind, realm, settings, { withSecret: confidential === true }, session.actor);
        if (!secret) return reply.redirect(`${clientPath(refOf(client))}?done=created`, 303);
        return send(reply, 201, frameOf(session, 'Client created', 'clients'), secretBody(refOf(client), secret));
      } catch (err) {
        if (!(err instanceof EidhubError) || err.status >= 500) throw err;
        return newClientPage(reply, session, err.status, kind, realm, { ...settings, confidential }, err);
      }
    });

    /** A client's page, with the settings form showing `values` (the client's, or what was posted) and `err`'s issues. */
    const clientPage = async (reply: FastifyReply, session: ConsoleSession, ref: ClientRef, options: { status?: number; values?: Record<string, unknown>; err?: EidhubError | undefined; notice?: string | undefined } = {}) => {
      const client = await service.get(ref);
      const fields = formFields(ref.kind, false, deps.providers);
      const err = options.err;
      const form = settingsFormBody({
        action: `${clientPath(ref)}/edit`,
        csrf: session.csrf,
        fields: renderFields(fields, options.values ?? clientSettings(client), issuesOf(err, 'clientId'), { readOnly: client.readOnly, creating: false }),
        readOnly: readOnlyReason(client),
        submit: 'Save',
      });
      const secrets = await service.secrets(ref);
      const title = `${client.name ?? client.clientId}${client.readOnly ? ' (read-only)' : ''}`;
      return send(reply, options.status ?? 200, frameOf(session, title, 'clients', options.notice), clientBody({ client, form, secrets, csrf: session.csrf }));
    };
    const refFrom = (p: ClientParams): ClientRef => {
      const kind = p.realm !== undefined ? 'realm' : KINDS.find((k) => k === p.kind && k !== 'realm');
      if (!kind) throw new EidhubError(404, 'not_found', 'there is no such kind of client');
      return { kind, clientId: p.clientId, realm: p.realm };
    };
    /** Both shapes of a client's path: /clients/{kind}/{id} and /clients/realm/{realm}/{id}. */
    const clientRoutes = (suffix: string) => [`${CONSOLE_PATH}/clients/:kind/:clientId${suffix}`, `${CONSOLE_PATH}/clients/realm/:realm/:clientId${suffix}`];
    /** Runs a console handler; a client or secret that is not there is a console page, not an error page. */
    const orNotFound = async (reply: FastifyReply, session: ConsoleSession, handler: () => Promise<FastifyReply>) => {
      try {
        return await handler();
      } catch (err) {
        if (err instanceof EidhubError && err.status === 404) return notFoundPage(reply, session, err);
        throw err;
      }
    };

    for (const path of clientRoutes('')) {
      scope.get<{ Params: ClientParams; Querystring: { done?: string } }>(path, async (req, reply) => {
        const session = await pageSession(req, reply);
        if (!session) return reply;
        return orNotFound(reply, session, () => clientPage(reply, session, refFrom(req.params), { notice: NOTICES[req.query.done ?? ''] }));
      });
    }

    for (const path of clientRoutes('/edit')) {
      scope.post<{ Params: ClientParams; Body: PostedForm }>(path, async (req, reply) => {
        const session = await changeSession(req, reply);
        if (!session) return reply;
        const ref = refFrom(req.params);
        const settings = { ...readForm(formFields(ref.kind, false, deps.providers), req.body), clientId: ref.clientId };
        return orNotFound(reply, session, async () => {
          try {
            await service.update(ref.kind, ref.realm, settings, session.actor);
            return reply.redirect(`${clientPath(ref)}?done=saved`, 303);
          } catch (err) {
            if (!(err instanceof EidhubError) || err.status >= 500 || err.status === 404) throw err;
            return clientPage(reply, session, ref, { status: err.status, values: settings, err });
          }
        });
      });
    }

    for (const path of clientRoutes('/delete')) {
      scope.post<{ Params: ClientParams; Body: PostedForm }>(path, async (req, reply) => {
        const session = await changeSession(req, reply);
        if (!session) return reply;
        return orNotFound(reply, session, async () => {
          await service.remove(refFrom(req.params), session.actor);
          return reply.redirect(`${CONSOLE_PATH}/clients?done=deleted`, 303);
        });
      });
    }

    for (const path of clientRoutes('/secrets')) {
      scope.post<{ Params: ClientParams; Body: PostedForm }>(path, async (req, reply) => {
        const session = await changeSession(req, reply);
        if (!session) return reply;
        const ref = refFrom(req.params);
        const name = typeof req.body.name === 'string' ? req.body.name.trim() : '';
        return orNotFound(reply, session, async () => {
          try {
            if (!/^[A-Za-z0-9._-]{1,64}$/.test(name)) throw new EidhubError(400, 'invalid_request', 'a secret\'s name is 1 to 64 of A–Z a–z 0–9 . _ -');
            const secret = await service.addSecret(ref, name, session.actor);
            return send(reply, 201, frameOf(session, 'Secret created', 'clients'), secretBody(ref, secret));
          } catch (err) {
            if (!(err instanceof EidhubError) || err.status >= 500 || err.status === 404) throw err;
            return send(reply, err.status, frameOf(session, 'The secret was not created', 'clients'), `<p class="alert alert-danger" role="alert">${escape(err.message)}</p><p><a href="${escape(clientPath(ref))}">Back to the client</a></p>`);
          }
        });
      });
    }

    for (const path of clientRoutes('/secrets/:name/revoke')) {
      scope.post<{ Params: ClientParams; Body: PostedForm }>(path, async (req, reply) => {
        const session = await changeSession(req, reply);
        if (!session) return reply;
        const ref = refFrom(req.params);
        return orNotFound(reply, session, async () => {
          try {
            await service.revokeSecret(ref, req.params.name!, session.actor);
            return reply.redirect(`${clientPath(ref)}?done=revoked`, 303);
          } catch (err) {
            if (!(err instanceof EidhubError) || err.status >= 500 || err.status === 404) throw err;
            return send(reply, err.status, frameOf(session, 'The secret was not revoked', 'clients'), `<p class="alert alert-danger" role="alert">${escape(err.message)}</p><p><a href="${escape(clientPath(ref))}">Back to the client</a></p>`);
          }
        });
      });
    }

    const spFields = (creating: boolean) =>
      schemaFields(SAML_SP_REQUEST_SCHEMA, { documents: ['metadata'], fixed: creating ? [] : ['entityId'] });

    scope.get<{ Querystring: { done?: string } }>(`${CONSOLE_PATH}/saml`, async (req, reply) => {
      const session = await pageSession(req, reply);
      if (!session) return reply;
      const notice = req.query.done === 'deleted' ? 'The service provider was removed.' : undefined;
      return send(reply, 200, frameOf(session, 'SAML service providers', 'saml', notice), spsBody(service.serviceProviders().map(presentServiceProvider), deps.now()));
    });

    /** The new-SP form, with what was posted and what was wrong with it. */
    const newSpPage = (reply: FastifyReply, session: ConsoleSession, status: number, values: Record<string, unknown>, err?: EidhubError) => {
      const form = settingsFormBody({ action: `${CONSOLE_PATH}/saml/new`, csrf: session.csrf, fields: renderFields(spFields(true), values, issuesOf(err, 'entityId'), { readOnly: false, creating: true }), readOnly: false, submit: 'Add' });
      return send(reply, status, frameOf(session, 'New SAML service provider', 'saml'), `<section class="panel">${form}</section>`);
    };

    scope.get(`${CONSOLE_PATH}/saml/new`, async (req, reply) => {
      const session = await pageSession(req, reply);
      if (!session) return reply;
      return newSpPage(reply, session, 200, {});
    });

    scope.post<{ Body: PostedForm }>(`${CONSOLE_PATH}/saml/new`, async (req, reply) => {
      const session = await changeSession(req, reply);
      if (!session) return reply;
      const input = readForm(spFields(true), req.body);
      try {
        const sp = await service.addServiceProvider(input, session.actor);
        return reply.redirect(`${spPath(sp.entry.entityId)}&done=created`, 303);
      } catch (err) {
        if (!(err instanceof EidhubError) || err.status >= 500) throw err;
        return newSpPage(reply, session, err.status, input, err);
      }
    });

    /** An SP's page, with the settings form showing `values` (its own, or what was posted) and `err`'s issues. */
    const spPage = async (reply: FastifyReply, session: ConsoleSession, entityId: string, options: { status?: number; values?: Record<string, unknown>; err?: EidhubError; notice?: string | undefined } = {}) => {
      const registered = await service.serviceProvider(entityId);
      const form = settingsFormBody({
        action: spPath(entityId, '/edit'),
        csrf: session.csrf,
        fields: renderFields(spFields(false), options.values ?? { ...registered.entry }, issuesOf(options.err, 'entityId'), { readOnly: registered.readOnly, creating: false }),
        readOnly: registered.readOnly ? 'config' : false,
        submit: 'Save',
      });
      return send(reply, options.status ?? 200, frameOf(session, entityId, 'saml', options.notice), spBody({ sp: presentServiceProvider(registered), form, csrf: session.csrf }));
    };
    type SpQuery = { Querystring: { entityId?: string; done?: string }; Body: PostedForm };
    const entityIdOf = (q: { entityId?: string }) => {
      if (!q.entityId) throw new EidhubError(404, 'saml_sp_not_found', 'name the service provider: ?entityId=');
      return q.entityId;
    };

    scope.get<SpQuery>(`${CONSOLE_PATH}/saml/sp`, async (req, reply) => {
      const session = await pageSession(req, reply);
      if (!session) return reply;
      const notice = req.query.done === 'created' ? 'The service provider was added.' : NOTICES[req.query.done ?? ''];
      return orNotFound(reply, session, () => spPage(reply, session, entityIdOf(req.query), { notice }));
    });

    scope.post<SpQuery>(`${CONSOLE_PATH}/saml/sp/edit`, async (req, reply) => {
      const session = await changeSession(req, reply);
      if (!session) return reply;
      return orNotFound(reply, session, async () => {
        const entityId = entityIdOf(req.query);
        const input = { ...readForm(spFields(false), req.body), entityId };
        try {
          await service.updateServiceProvider(input, session.actor);
          return reply.redirect(`${spPath(entityId)}&done=saved`, 303);
        } catch (err) {
          if (!(err instanceof EidhubError) || err.status >= 500 || err.status === 404) throw err;
          return spPage(reply, session, entityId, { status: err.status, values: input, err });
        }
      });
    });

    scope.post<SpQuery>(`${CONSOLE_PATH}/saml/sp/delete`, async (req, reply) => {
      const session = await changeSession(req, reply);
      if (!session) return reply;
      return orNotFound(reply, session, async () => {
        await service.removeServiceProvider(entityIdOf(req.query), session.actor);
        return reply.redirect(`${CONSOLE_PATH}/saml?done=deleted`, 303);
      });
    });

    scope.get<{ Querystring: QueryParams }>(`${CONSOLE_PATH}/audit`, async (req, reply) => {
      const session = await pageSession(req, reply);
      if (!session) return reply;
      const q = req.query;
      const one = (name: string) => {
        const v = q[name];
        return typeof v === 'string' ? v : '';
      };
      const filters = { from: one('from'), to: one('to'), clientId: one('clientId'), type: one('type') };
      const given = Object.fromEntries(Object.entries(filters).filter(([, v]) => v !== ''));
      let events: AuditEvent[] = [];
      let next: string | undefined;
      let error: string | undefined;
      try {
        const page = await deps.audit.query(auditQueryFromParams({ ...given, cursor: one('cursor') || undefined, limit: '50' }));
        events = page.events;
        next = page.next ? encodeAuditCursor(page.next) : undefined;
      } catch (err) {
        if (!(err instanceof EidhubError) || err.status >= 500) throw err;
        error = err.message;
      }
      const query = (extra: Record<string, string>) => new URLSearchParams({ ...given, ...extra }).toString();
      return send(
        reply,
        error ? 400 : 200,
        frameOf(session, 'Audit log', 'audit'),
        auditBody({ filters, events, nextHref: next ? `${CONSOLE_PATH}/audit?${query({ cursor: next })}` : undefined, csvHref: `${ADMIN_BASE}/audit-events.csv?${query({})}`, error }),
      );
    });
  });

  /** The Admin API's check of a request that carries the console's cookie and no bearer token. */
  return async (req) => {
    const session = await sessions.of(req);
    if (!session) return undefined;
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      if (!sameOrigin(req) || !ConsoleSessions.csrfMatches(session, req.headers['x-csrf-token'])) {
        throw new EidhubError(403, 'csrf', 'a change made with the console\'s session needs its CSRF token in the X-CSRF-Token header');
      }
    }
    return session.actor;
  };
}
