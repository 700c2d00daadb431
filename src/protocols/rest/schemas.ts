/**
 * The Authentication REST API's JSON Schemas. The routes validate requests and serialise answers
 * with them, and the OpenAPI document (/auth/rest/openapi.json) is produced from the same objects,
 * so the document cannot drift from what the server does.
 */

export const FLOWS = ['redirect', 'embedded', 'iframe', 'headless'] as const;
export const STATUSES = ['CREATED', 'WAITING_FOR_USER', 'SUCCESS', 'ERROR', 'ABORT', 'CANCELLED'] as const;
export const MIN_SESSION_LIFETIME = 60;
export const MAX_SESSION_LIFETIME = 7200;
export const DEFAULT_SESSION_LIFETIME = 1200;

const url = {
  type: 'string',
  minLength: 1,
  maxLength: 2048,
  description: 'An absolute https URL (http only on localhost or 127.0.0.1), without user information; of an origin in the API client\'s allowedOrigins when it lists them.',
} as const;
const shortText = (maxLength: number, description: string) => ({ type: 'string', maxLength, description }) as const;

export const callbackUrlsSchema = {
  type: 'object',
  additionalProperties: false,
  description: 'Where the browser goes at the end of a redirect flow; `sessionId` (and `externalReference`) are added as query parameters.',
  properties: { success: url, abort: url, error: url },
} as const;

const stringMap = (description: string) =>
  ({ type: 'object', maxProperties: 20, additionalProperties: { type: 'string', maxLength: 256 }, description }) as const;

export const createSessionBody = {
  $id: 'CreateSessionRequest',
  type: 'object',
  additionalProperties: false,
  required: ['flow'],
  properties: {
    allowedProviders: {
      type: 'array',
      minItems: 1,
      maxItems: 10,
      uniqueItems: true,
      items: { type: 'string', maxLength: 64 },
      description: 'Identity providers the person may use, by id (see the server\'s list). Default: every enabled provider.',
    },
    flow: {
      type: 'string',
      enum: FLOWS,
      description: '`redirect`; `embedded` (alias `iframe`) for an iframe in your page; `headless` to run the provider\'s steps over this API from your own screens (`/sessions/{id}/{provider}/…`).',
    },
    language: shortText(35, 'UI language: da, nl, en, fi, el, no or sv. Default: the browser\'s language, then English.'),
    requestedAttributes: {
      type: 'array',
      maxItems: 20,
      uniqueItems: true,
      items: { type: 'string', maxLength: 64 },
      description: 'Attributes wanted in `subject`, by the providers\' attribute names. Default: every attribute the allowed providers give.',
    },
    callbackUrls: callbackUrlsSchema,
    returnUrl: { ...url, description: 'Embedded flow: the frame navigates here with `?sessionNonce=…` at the end (a random value, good for one read of the session). Without user information; of an origin in the API client\'s allowedOrigins when it lists them.' },
    embeddedParentDomains: {
      type: 'array',
      minItems: 1,
      maxItems: 10,
      items: { type: 'string', minLength: 1, maxLength: 253 },
      description: 'Embedded flow: hosts (`app.example.com`, optionally with a port) or origins allowed to frame the pages. Omitted: any site (`*`), which is not recommended.',
    },
    additionalParameters: stringMap('Provider parameters, by the names the providers document.'),
    prefilledInput: stringMap('Values the person need not type, by the names the providers document.'),
    externalReference: shortText(256, 'Your reference; echoed, and added to the callback URLs.'),
    requestedLoa: { type: 'string', enum: ['low', 'substantial', 'high'], description: 'Minimum level of assurance.' },
    sessionLifetime: {
      type: 'integer',
      minimum: MIN_SESSION_LIFETIME,
      maximum: MAX_SESSION_LIFETIME,
      description: `Seconds the session stays valid (default ${DEFAULT_SESSION_LIFETIME}).`,
    },
    themeId: shortText(64, 'Accepted for compatibility; the hosted pages have one theme.'),
    tags: { type: 'array', maxItems: 20, items: { type: 'string', maxLength: 64 }, description: 'Your labels; echoed.' },
  },
} as const;

/**
 * The session object; `extensions` are the members authenticators add while their headless
 * steps run (HeadlessApi.status), so the answer keeps them and the document shows them.
 */
export function sessionSchema(extensions: ReadonlyArray<{ name: string; schema: Record<string, unknown> }>) {
  return {
    $id: 'Session',
    type: 'object',
    required: ['id', 'accountId', 'status', 'flow', 'allowedProviders', 'requestedAttributes', 'sessionLifetime', 'expiresAt'],
    properties: {
      id: { type: 'string', description: 'The session id.' },
      accountId: { type: 'string' },
      authenticationUrl: { type: 'string', description: 'Send the person here (redirect), or use it as the iframe `src` (embedded). Absent for headless sessions.' },
      status: { type: 'string', enum: STATUSES },
      flow: { type: 'string', enum: FLOWS },
      allowedProviders: { type: 'array', items: { type: 'string' } },
      language: { type: 'string' },
      requestedAttributes: { type: 'array', items: { type: 'string' } },
      callbackUrls: callbackUrlsSchema,
      returnUrl: { type: 'string' },
      embeddedParentDomains: { type: 'array', items: { type: 'string' } },
      additionalParameters: { type: 'object', additionalProperties: { type: 'string' } },
      prefilledInput: { type: 'object', additionalProperties: { type: 'string' } },
      externalReference: { type: 'string' },
      requestedLoa: { type: 'string' },
      themeId: { type: 'string' },
      tags: { type: 'array', items: { type: 'string' } },
      sessionLifetime: { type: 'integer' },
      expiresAt: { type: 'string', format: 'date-time' },
      provider: { type: 'string', description: 'On SUCCESS: the provider that authenticated the person.' },
      loa: { type: 'string', description: 'On SUCCESS: the level of assurance reached.' },
      subject: {
        type: 'object',
        required: ['id'],
        properties: { id: { type: 'string', description: 'Stable, opaque identifier of the person.' } },
        additionalProperties: { type: 'string' },
        description: 'On SUCCESS: the person: `id` and each requested attribute.',
      },
      ...Object.fromEntries(extensions.map((e) => [e.name, e.schema])),
      error: {
        type: 'object',
        required: ['code', 'message'],
        properties: { code: { type: 'string' }, message: { type: 'string' } },
        description: 'On ERROR: why. `code` is stable (e.g. `expired`, `too_many_attempts`).',
      },
    },
  } as const;
}

export const problemSchema = {
  $id: 'Problem',
  type: 'object',
  required: ['type', 'title', 'status', 'code'],
  description: 'RFC 9457 problem details.',
  properties: {
    type: { type: 'string' },
    title: { type: 'string' },
    status: { type: 'integer' },
    detail: { type: 'string' },
    code: { type: 'string', description: 'Stable machine-readable code.' },
    field: { type: 'string', description: 'The request field at fault, as a dotted path (e.g. `callbackUrls.success`).' },
  },
} as const;

export const sessionIdParams = {
  type: 'object',
  required: ['id'],
  properties: { id: { type: 'string', maxLength: 64, description: 'The session id.' } },
} as const;

export const getSessionQuery = {
  type: 'object',
  additionalProperties: false,
  properties: {
    sessionNonce: {
      type: 'string',
      maxLength: 128,
      description: 'Required for embedded sessions: the value the frame received on the returnUrl. Good for one read: a second read with the same value is refused (403).',
    },
  },
} as const;

const problemResponse = (description: string) => ({ description, content: { 'application/problem+json': { schema: { $ref: 'Problem#' } } } });

export const errorResponses = {
  400: problemResponse('The request is malformed; `field` names the part at fault.'),
  401: problemResponse('No valid access token.'),
  403: problemResponse('The token may not do this (scope or permission), or the sessionNonce is wrong or used already.'),
  404: problemResponse('No such session for this client.'),
  409: problemResponse('The session is already finished.'),
  415: problemResponse('The body is not application/json.'),
} as const;

export const headlessErrorResponses = {
  ...errorResponses,
  429: problemResponse('Too many requests for this step: wait, or start a new session.'),
  502: problemResponse('The provider could not deliver the step (a message, an upstream call); try again.'),
} as const;
