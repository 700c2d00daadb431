/**
 * The Admin API's SAML service providers: listed (the config file's first, read-only), added,
 * replaced and removed at run time through the SP registry (src/protocols/saml/service-providers.ts),
 * so a change reaches every process; each change is an audit event `admin.saml_sp.*` naming the
 * admin client as its actor. An SP comes with its metadata's text in the body: eidhub fetches
 * nothing a request names (a console uploads a file's text; a script reads its file).
 */
import { X509Certificate } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { samlServiceProviderEntrySchema } from '../config/schema.js';
import { badRequest } from '../core/errors.js';
import type { RegisteredServiceProvider } from '../protocols/saml/service-providers.js';
import type { SpEndpoint } from '../protocols/saml/model.js';
import { errorResponses } from './schemas.js';
import type { AdminService } from './service.js';

export interface SamlSpRouteDeps {
  service: AdminService;
  /** The bearer check of every Admin API route, and the admin client it found. */
  onRequest: (req: FastifyRequest) => Promise<void>;
  actorOf: (req: FastifyRequest) => string;
}

const iso = (ms: number) => new Date(ms).toISOString();

export interface CertificateView {
  subject: string;
  notBefore: string;
  notAfter: string;
  sha256Fingerprint: string;
}

export interface EndpointView {
  binding: string;
  location: string;
  responseLocation?: string;
  index?: number;
  isDefault?: boolean;
}

/** A SAML service provider as the Admin API and the console show it. */
export interface ServiceProviderView {
  entityId: string;
  metadata: string;
  requireSignedRequests: boolean;
  signResponse: boolean;
  encryptAssertions: boolean;
  readOnly: boolean;
  createdAt?: string;
  updatedAt?: string;
  assertionConsumerServices: EndpointView[];
  singleLogoutServices: EndpointView[];
  signingCertificates: CertificateView[];
  encryptionCertificates: CertificateView[];
}

/** What an admin wants to know of a certificate: whose it is and until when it is valid; it is public, but only its fingerprint is shown. */
function describeCertificate(pem: string): CertificateView {
  const cert = new X509Certificate(pem);
  return {
    subject: cert.subject,
    notBefore: iso(Date.parse(cert.validFrom)),
    notAfter: iso(Date.parse(cert.validTo)),
    sha256Fingerprint: cert.fingerprint256,
  };
}

const endpoint = (e: SpEndpoint): EndpointView => ({
  binding: e.binding,
  location: e.location,
  ...(e.responseLocation === undefined ? {} : { responseLocation: e.responseLocation }),
  ...(e.index === undefined ? {} : { index: e.index }),
  ...(e.isDefault === undefined ? {} : { isDefault: e.isDefault }),
});

/** An SP as the API (and the console) shows it: its settings (the options as they apply) and what eidhub read from its metadata. */
export function presentServiceProvider(registered: RegisteredServiceProvider): ServiceProviderView {
  const { entry, sp } = registered;
  return {
    entityId: entry.entityId,
    metadata: entry.metadata,
    requireSignedRequests: sp.requireSignedRequests,
    signResponse: sp.signResponse,
    encryptAssertions: sp.encryptAssertions,
    readOnly: registered.readOnly,
    ...(registered.createdAt === undefined ? {} : { createdAt: iso(registered.createdAt) }),
    ...(registered.updatedAt === undefined ? {} : { updatedAt: iso(registered.updatedAt) }),
    assertionConsumerServices: sp.assertionConsumerServices.map(endpoint),
    singleLogoutServices: sp.singleLogoutServices.map(endpoint),
    signingCertificates: sp.signingCertificates.map(describeCertificate),
    encryptionCertificates: sp.encryptionCertificates.map(describeCertificate),
  };
}

/** The body: the config file's SP entry (`metadata` as text), as JSON Schema. */
const { $schema: _draft, ...requestSchema } = z.toJSONSchema(samlServiceProviderEntrySchema, { io: 'input' }) as Record<string, unknown>;
export const SAML_SP_REQUEST_SCHEMA = { ...requestSchema, $id: 'SamlServiceProviderRequest', description: 'A SAML service provider: its metadata and options, as in the config file\'s `samlServiceProviders`.' };

const text = (description: string) => ({ type: 'string', description });
const dateTime = (description: string) => ({ type: 'string', format: 'date-time', description });
const endpointSchema = {
  type: 'object',
  required: ['binding', 'location'],
  properties: { binding: text('The binding URI.'), location: text('The URL.'), responseLocation: text('Where responses go, when not `location`.'), index: { type: 'integer' }, isDefault: { type: 'boolean' } },
};
const certificateSchema = {
  type: 'object',
  required: ['subject', 'notBefore', 'notAfter', 'sha256Fingerprint'],
  properties: { subject: text('The certificate\'s subject.'), notBefore: dateTime('Valid from.'), notAfter: dateTime('Valid until.'), sha256Fingerprint: text('SHA-256 of the certificate, hex pairs.') },
};
const answerSchema = {
  $id: 'SamlServiceProvider',
  type: 'object',
  description: 'A SAML service provider: its settings, and what eidhub read from its metadata.',
  required: ['entityId', 'metadata', 'requireSignedRequests', 'signResponse', 'encryptAssertions', 'readOnly', 'assertionConsumerServices', 'singleLogoutServices', 'signingCertificates', 'encryptionCertificates'],
  properties: {
    entityId: text('The SP\'s entityID.'),
    metadata: text('Its metadata, as given.'),
    requireSignedRequests: { type: 'boolean' },
    signResponse: { type: 'boolean' },
    encryptAssertions: { type: 'boolean', description: 'Whether assertions are encrypted (by default: when the metadata has an encryption certificate).' },
    readOnly: { type: 'boolean', description: 'An SP of the config file: shown, never changed over the API.' },
    createdAt: dateTime('When it was added; absent for a config SP.'),
    updatedAt: dateTime('When it last changed; absent for a config SP.'),
    assertionConsumerServices: { type: 'array', items: endpointSchema, description: 'Where answers go (always by HTTP-POST).' },
    singleLogoutServices: { type: 'array', items: endpointSchema },
    signingCertificates: { type: 'array', items: certificateSchema, description: 'The only keys its requests may be signed with.' },
    encryptionCertificates: { type: 'array', items: certificateSchema },
  },
};

const BASE = '/admin/api/saml-service-providers';
const ITEM = `${BASE}/:entityId`;
const itemParams = { type: 'object', required: ['entityId'], properties: { entityId: { type: 'string', minLength: 1, maxLength: 1024, description: 'The SP\'s entityID, URL-encoded.' } } };
const answer = { $ref: 'SamlServiceProvider#' };
const body = { $ref: 'SamlServiceProviderRequest#' };

type Item = { Params: { entityId: string } };

export function registerSamlServiceProviderRoutes(app: FastifyInstance, deps: SamlSpRouteDeps): void {
  const { service, onRequest, actorOf } = deps;
  app.addSchema(SAML_SP_REQUEST_SCHEMA);
  app.addSchema(answerSchema);
  const security = [{ bearerAuth: [] }];
  const tags = ['SAML service providers'];

  app.get(
    BASE,
    { onRequest, schema: { summary: 'List the SAML service providers, the config file\'s (read-only) first', tags, security, response: { 200: { description: 'The SPs.', type: 'array', items: answer }, ...errorResponses } } },
    async () => service.serviceProviders().map(presentServiceProvider),
  );

  app.post<{ Body: Record<string, unknown> }>(
    BASE,
    { onRequest, schema: { summary: 'Add a SAML service provider by its metadata', tags, security, body, response: { 201: { description: 'The SP.', ...answer }, ...errorResponses } } },
    async (req, reply) => {
      return reply.code(201).send(presentServiceProvider(await service.addServiceProvider(req.body, actorOf(req))));
    },
  );

  app.get<Item>(
    ITEM,
    { onRequest, schema: { summary: 'Get a SAML service provider', tags, security, params: itemParams, response: { 200: { description: 'The SP.', ...answer }, ...errorResponses } } },
    async (req) => presentServiceProvider(await service.serviceProvider(req.params.entityId)),
  );

  app.put<Item & { Body: Record<string, unknown> }>(
    ITEM,
    { onRequest, schema: { summary: 'Replace a SAML service provider\'s metadata and options', tags, security, params: itemParams, body, response: { 200: { description: 'The SP.', ...answer }, ...errorResponses } } },
    async (req) => {
      if (req.body.entityId !== req.params.entityId) throw badRequest('invalid_request', 'entityId must be the entityID of the path', 'entityId');
      return presentServiceProvider(await service.updateServiceProvider(req.body, actorOf(req)));
    },
  );

  app.delete<Item>(
    ITEM,
    { onRequest, schema: { summary: 'Remove a SAML service provider: its requests are refused at once', tags, security, params: itemParams, response: { 204: { description: 'Removed.', type: 'null' }, ...errorResponses } } },
    async (req, reply) => {
      await service.removeServiceProvider(req.params.entityId, actorOf(req));
      return reply.code(204).send();
    },
  );
}
