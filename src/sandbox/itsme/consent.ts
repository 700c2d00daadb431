/**
 * The consent step, oidc-provider's interaction: the page shows the test identities; Confirm
 * answers the interaction with the chosen person logged in and the scopes granted, Reject with
 * `access_denied`, and oidc-provider carries either answer back to the client.
 *
 * CSRF and browser binding: the interaction is the one oidc-provider's interaction cookie names
 * (signed, SameSite=Lax, so a cross-site post does not carry it), and it must be the one in the
 * path; a post for another interaction, or without the cookie, is refused.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type Provider from 'oidc-provider';
import { errors, type Configuration, type Interaction } from 'oidc-provider';
import type { Logger } from 'pino';
import { z } from 'zod';
import { EidhubError } from '../../core/errors.js';
import { redactUrl } from '../../http/redact-url.js';
import { toEidhubError } from '../../http/server.js';
import { identityById, subjectOf } from './identities.js';
import { consentPage, errorPage, type SimulatorPage } from './page.js';
import { INTERACTION_PREFIX, ITSME_SIMULATOR_MOUNT } from './paths.js';
import { ITSME_ACR_VALUES, SIMULATOR_SCOPES } from './provider.js';

export interface ConsentDeps {
  provider: () => Provider;
  logger: Logger;
}

type InteractionRequest = FastifyRequest<{ Params: { uid: string } }>;

const ConfirmForm = z.object({ identity: z.string() });

function send(reply: FastifyReply, status: number, page: SimulatorPage): FastifyReply {
  return reply.code(status).headers(page.headers).send(page.html);
}

/** The interaction of this browser (its cookie), which must be the one of the page (its path). */
async function interactionOf(provider: Provider, req: InteractionRequest, reply: FastifyReply): Promise<Interaction> {
  let interaction: Interaction;
  try {
    interaction = await provider.interactionDetails(req.raw, reply.raw);
  } catch (err) {
    if (err instanceof errors.SessionNotFound) {
      throw new EidhubError(400, 'login_expired', 'This login has expired or was started in another browser. Go back to the service and start again.');
    }
    throw err;
  }
  if (interaction.uid !== req.params.uid) {
    throw new EidhubError(400, 'login_replaced', 'This page belongs to another login started in this browser. Go back to the service and start again.');
  }
  return interaction;
}

const paramOf = (interaction: Interaction, name: string): string => {
  const value = interaction.params[name];
  return typeof value === 'string' ? value : '';
};

/** The scopes the client asked for that the simulator knows (itsme's `service:` scopes are passed over). */
const knownScopes = (interaction: Interaction): string[] =>
  paramOf(interaction, 'scope')
    .split(' ')
    .filter((s): s is (typeof SIMULATOR_SCOPES)[number] => (SIMULATOR_SCOPES as readonly string[]).includes(s));

/** The first level of assurance the client asked for that itsme has, else the basic one. */
const acrOf = (interaction: Interaction): string =>
  paramOf(interaction, 'acr_values')
    .split(' ')
    .find((v) => (ITSME_ACR_VALUES as readonly string[]).includes(v)) ?? ITSME_ACR_VALUES[0];

/** oidc-provider validated the redirect URI before it started the interaction. */
function clientOrigin(interaction: Interaction): string {
  try {
    return new URL(paramOf(interaction, 'redirect_uri')).origin;
  } catch {
    throw new EidhubError(400, 'invalid_request', 'This login has no valid redirect URI. Go back to the service and start again.');
  }
}

export async function registerConsentRoutes(app: FastifyInstance, deps: ConsentDeps): Promise<void> {
  const { logger } = deps;
  const base = `${ITSME_SIMULATOR_MOUNT}${INTERACTION_PREFIX}:uid`;

  await app.register(async (scope) => {
    // Every refusal is a page: a bad or stale form is the person's to fix (400), never a 500.
    scope.setErrorHandler(async (err, req, reply) => {
      const e = toEidhubError(err instanceof Error ? err : new Error(String(err)));
      if (e.status >= 500) {
        logger.error({ err: e.cause ?? e, url: redactUrl(req.url) }, 'itsme simulator: request failed');
        return send(reply, 500, errorPage('Something went wrong in the simulator. Try again in a moment.'));
      }
      logger.info({ code: e.code, status: e.status, url: redactUrl(req.url) }, 'itsme simulator: request refused');
      const message = err instanceof EidhubError ? err.message : 'The form could not be read. Go back to the service and start again.';
      return send(reply, e.status, errorPage(message));
    });

    scope.get<{ Params: { uid: string } }>(base, async (req, reply) => {
      const interaction = await interactionOf(deps.provider(), req, reply);
      const page = consentPage({
        uid: interaction.uid,
        clientId: paramOf(interaction, 'client_id'),
        scopes: knownScopes(interaction),
        clientOrigin: clientOrigin(interaction),
      });
      return send(reply, 200, page);
    });

    scope.post<{ Params: { uid: string } }>(`${base}/confirm`, async (req, reply) => {
      const provider = deps.provider();
      const interaction = await interactionOf(provider, req, reply);
      const form = ConfirmForm.safeParse(req.body);
      const identity = form.success ? identityById(form.data.identity) : undefined;
      if (!identity) throw new EidhubError(400, 'invalid_identity', 'Choose one of the test identities listed on the page.', { field: 'identity' });
      const accountId = subjectOf(identity);
      const clientId = paramOf(interaction, 'client_id');
      const grant = new provider.Grant({ accountId, clientId });
      grant.addOIDCScope(knownScopes(interaction).join(' '));
      const grantId = await grant.save();
      const url = await provider.interactionResult(
        req.raw,
        reply.raw,
        { login: { accountId, acr: acrOf(interaction), remember: false }, consent: { grantId } },
        { mergeWithLastSubmission: false },
      );
      logger.info({ client: clientId, identity: identity.id }, 'itsme simulator: the person confirmed');
      return reply.redirect(url, 303);
    });

    scope.post<{ Params: { uid: string } }>(`${base}/reject`, async (req, reply) => {
      const provider = deps.provider();
      const interaction = await interactionOf(provider, req, reply);
      const url = await provider.interactionResult(
        req.raw,
        reply.raw,
        { error: 'access_denied', error_description: 'the person rejected the request in itsme' },
        { mergeWithLastSubmission: false },
      );
      logger.info({ client: paramOf(interaction, 'client_id') }, 'itsme simulator: the person rejected');
      return reply.redirect(url, 303);
    });
  });
}

/**
 * oidc-provider's own error pages (a request it refuses and cannot send back to the client); the
 * refusal is logged where oidc-provider reports it (its `*.error` events, index.ts).
 */
export const providerErrorPage: NonNullable<Configuration['renderError']> = (ctx, out) => {
  const page = errorPage('itsme could not handle this request. Go back to the service and start again.', `${out.error}: ${out.error_description ?? ''}`);
  ctx.set(page.headers);
  ctx.body = page.html;
};
