/**
 * A test-only authenticator: one step, an "Approve" button, and the person is logged in as the
 * test identity it names. With an upstream URL it also offers "Approve elsewhere": the browser
 * goes to that upstream and comes back to the authenticator's callback, as an upstream identity
 * provider's would. Built to go straight there (approveGoingStraightTo), its `enter` sends the
 * browser to the upstream as soon as its step would show, as an upstream OpenID Provider does. It lives in this folder alone and is registered by the test that uses
 * it (BuildOptions.authenticators), to show that an authenticator is one folder: its step and
 * texts, its action, its headless step, its amr, level of assurance and attribute mapping, with
 * no edit to eidhub's own files.
 */
import { EidhubError } from '../../../src/core/errors.js';
import type { Transaction, TransactionSubject } from '../../../src/core/transaction.js';
import type { ActionResult, Authenticator, AuthenticatorContext, AuthenticatorPlugin, StepView } from '../../../src/authenticators/types.js';
import type { Locales } from '../../../src/ui/i18n.js';

export const APPROVE = 'approve';

/** The person this authenticator logs in, by the identifier an upstream would give. */
export const APPROVED_PERSON = { id: 'person-0001', name: 'Maxence Legrand' };

interface ApproveView extends StepView {
  kind: 'approve';
  error?: 'approve.error.notTicked' | 'approve.error.upstream' | undefined;
}

/** English for every language: a test authenticator needs no translation, only its own keys. */
const english = {
  'approve.name': 'Approve (test)',
  'approve.heading': 'Approve the login',
  'approve.intro': 'Press Approve to log in as {name}.',
  'approve.confirm': 'I am {name}',
  'approve.submit': 'Approve',
  'approve.elsewhere': 'Approve elsewhere',
  'approve.error.upstream': 'The other site did not approve.',
  'approve.error.notTicked': 'Tick the box to confirm who you are.',
};
const MESSAGES: Locales = { en: english, da: {}, nl: {}, fi: {}, el: {}, no: {}, sv: {} };

function subject(context: AuthenticatorContext): TransactionSubject {
  return { id: context.subjectOf(APPROVED_PERSON.id), idpId: APPROVED_PERSON.id, attributes: { name: APPROVED_PERSON.name } };
}

/**
 * `upstream`: a URL that sends the browser back to its `return` query parameter with `answer=yes`
 * or `no`; `straight`: go there at once (enter) rather than on the "Approve elsewhere" button.
 */
function create(context: AuthenticatorContext, upstream: string | undefined, straight = false): Authenticator<ApproveView> {
  /** The form must confirm with the box ticked; anything else shows the step again with an error. */
  async function approve(tx: Transaction, confirmed: boolean): Promise<ActionResult<ApproveView>> {
    if (!confirmed) return { kind: 'view', view: { kind: 'approve', error: 'approve.error.notTicked' } };
    return { kind: 'finished', tx: await context.transactions.transition(tx, 'SUCCESS', { subject: subject(context), loa: 'substantial' }) };
  }

  /** Where the upstream is asked to send the browser back: this login's callback. */
  function toUpstream(upstreamUrl: string, tx: Transaction): ActionResult<ApproveView> {
    const back = `${context.config.publicUrl}/login/${tx.id}/callback`;
    return { kind: 'redirect', url: `${upstreamUrl}?${new URLSearchParams({ return: back })}` };
  }

  return {
    id: APPROVE,
    displayName: 'approve.name',
    loa: 'substantial',
    amr: ['user'],
    issuer: 'https://approve.test',
    attributes: ['approvedId', 'name'],
    oidcScopes: { profile: ['name'], 'idp-id': ['idp_id', 'idp_issuer'] },
    providerParams: [],
    actions: upstream ? ['approve', 'elsewhere'] : ['approve'],
    redirectOrigins: upstream ? [new URL(upstream).origin] : [],
    messages: MESSAGES,
    claims: {
      oidc: (s) => ({ idp_id: s.idpId, idp_issuer: 'https://approve.test', name: s.attributes.name }),
      rest: (s) => ({ approvedId: s.idpId, name: s.attributes.name ?? '' }),
      saml: (s) => ({ approvedId: s.idpId, name: s.attributes.name ?? '' }),
    },
    headless: {
      steps: [
        {
          name: 'approve',
          summary: 'Test authenticator: approve the login',
          body: { type: 'object', additionalProperties: false, required: ['confirm'], properties: { confirm: { type: 'boolean' } } },
          run: (tx, body) => approve(tx, body.confirm === true),
        },
      ],
      refusal: (view) => new EidhubError(400, 'not_confirmed', `refused: ${view.error ?? 'no reason'}`, { field: 'confirm' }),
      problems: { not_confirmed: 'The approval was not confirmed.' },
    },
    prepare: ({ providerParams, prefilledInput }) => ({ ok: true, providerParams, prefilledInput }),
    view: async () => ({ kind: 'approve' }),
    render(view, kit) {
      const name = kit.html(`<strong>${kit.escape(APPROVED_PERSON.name)}</strong>`);
      const error = view.error ? `<p class="field-error" id="confirm-error" role="alert"><span>${kit.t(view.error)}</span></p>` : '';
      const box = `<div class="field"><label><input type="checkbox" name="confirm" value="yes" required> ${kit.t('approve.confirm', { name: APPROVED_PERSON.name })}</label>${error}</div>`;
      const elsewhere = upstream ? kit.postForm('elsewhere', kit.submitButton(kit.t('approve.elsewhere'), 'btn-link')) : '';
      return {
        heading: kit.t('approve.heading'),
        icon: 'user',
        tone: 'brand',
        body: `<p class="lead">${kit.t('approve.intro', { name })}</p>
${kit.postForm('approve', `${box}${kit.submitButton(kit.t('approve.submit'), 'btn-primary')}`, { className: 'main-form' })}
${elsewhere}
<div class="card-foot">${kit.cancelForm()}</div>`,
      };
    },
    async act(tx, action, form) {
      if (action === 'approve') return approve(tx, form.confirm === 'yes');
      if (action === 'elsewhere' && upstream) return toUpstream(upstream, tx);
      throw new EidhubError(404, 'unknown_action', `unknown step "${action}"`);
    },
    ...(upstream && straight ? { enter: async (tx: Transaction) => toUpstream(upstream, tx) } : {}),
    async callback(tx, query) {
      if (query.answer !== 'yes') return { kind: 'view', view: { kind: 'approve', error: 'approve.error.upstream' } };
      return approve(tx, true);
    },
  };
}

export const approvePlugin: AuthenticatorPlugin = { id: APPROVE, create: (context) => create(context, undefined) };

/** The same authenticator with "Approve elsewhere" at `upstream`. */
export function approveWithUpstream(upstream: string): AuthenticatorPlugin {
  return { id: APPROVE, create: (context) => create(context, upstream) };
}

/** The same authenticator sent straight to `upstream` whenever its step would show (its `enter`). */
export function approveGoingStraightTo(upstream: string): AuthenticatorPlugin {
  return { id: APPROVE, create: (context) => create(context, upstream, true) };
}
