/** The Authentication REST API as an integrator's server calls it, for tests. */

/** Calls `{origin}/auth/rest{path}` with a bearer token (and a JSON body when given); the status and the JSON answer. */
export async function callRestApi(origin: string, token: string, method: string, path: string, body?: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${origin}/auth/rest${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}
