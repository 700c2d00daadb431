/** The Authentication REST API as an integrator's server calls it, for tests. */
import assert from 'node:assert/strict';
import type { OpenApiValidator } from './openapi.js';

/** Calls `{origin}/auth/rest{path}` with a bearer token (and a JSON body when given); the status and the JSON answer. */
export async function callRestApi(origin: string, token: string, method: string, path: string, body?: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${origin}/auth/rest${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

/**
 * An integrator's session calls, each answer checked against the OpenAPI document the server
 * publishes: create (201, CREATED) and read (200; an embedded session with its sessionNonce).
 * `api` is asked at each call, so a suite may build this before its `before` starts the server.
 */
export function sessionCalls<Session>(api: () => { origin: string; token: string; openapi: OpenApiValidator }, timeoutMs: number) {
  return {
    async createSession(request: Record<string, unknown>): Promise<Session> {
      const { origin, token, openapi } = api();
      const res = await fetch(`${origin}/auth/rest/sessions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify(request),
        signal: AbortSignal.timeout(timeoutMs),
      });
      const body = (await openapi.check('post', '/auth/rest/sessions', res)) as Session & { status: string };
      assert.equal(res.status, 201, JSON.stringify(body));
      assert.equal(body.status, 'CREATED');
      return body;
    },

    async getSession(id: string, sessionNonce?: string): Promise<Session> {
      const { origin, token, openapi } = api();
      const query = sessionNonce === undefined ? '' : `?${new URLSearchParams({ sessionNonce })}`;
      const res = await fetch(`${origin}/auth/rest/sessions/${id}${query}`, {
        headers: { authorization: `Bearer ${token}`, accept: 'application/json' },
        signal: AbortSignal.timeout(timeoutMs),
      });
      const body = (await openapi.check('get', '/auth/rest/sessions/{id}', res)) as Session;
      assert.equal(res.status, 200, JSON.stringify(body));
      return body;
    },
  };
}
