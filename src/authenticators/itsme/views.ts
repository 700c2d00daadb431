/**
 * The pages of an upstream login: the login itself happens at the upstream, so eidhub shows only
 * a "continue with {name}" step (when the hosted pages show a step before sending the browser
 * away) and, when the upstream failed or its answer was refused, a page saying so with a retry
 * button. Texts are keys of this folder's catalogues (locales/<lang>.json).
 */
import type { StepContent, StepKit } from '../../ui/kit.js';

/** Why the last attempt did not finish the login. */
export type UpstreamErrorKey = 'upstream.error.timeout' | 'upstream.error.unreachable' | 'upstream.error.failed' | 'upstream.error.refused';

export type UpstreamView =
  | { kind: 'start'; name: string; error?: undefined }
  /** The page answers 422 with it; its retry button starts a new request to the upstream. */
  | { kind: 'problem'; name: string; error: UpstreamErrorKey };

/** The form actions: both send the browser to the upstream with a new request. */
export const START = 'start';
export const RETRY = 'retry';

function startStep(view: UpstreamView, kit: StepKit): StepContent {
  const { t } = kit;
  return {
    heading: t('upstream.start.heading', { name: view.name }),
    icon: 'user',
    tone: 'brand',
    body: `<p class="lead">${t('upstream.start.intro', { name: view.name })}</p>
${kit.postForm(START, kit.submitButton(t('upstream.start.submit', { name: view.name }), 'btn-primary'), { className: 'main-form' })}
<div class="card-foot">${kit.cancelForm()}</div>`,
  };
}

function problemStep(view: UpstreamView & { kind: 'problem' }, kit: StepKit): StepContent {
  const { t } = kit;
  const heading = view.error === 'upstream.error.refused' ? t('upstream.refused.heading') : t('upstream.problem.heading', { name: view.name });
  return {
    heading,
    icon: 'alert',
    tone: 'danger',
    body: `<p class="lead" role="alert">${t(view.error, { name: view.name })}</p>
${kit.postForm(RETRY, kit.submitButton(t('upstream.retry'), 'btn-primary'), { className: 'main-form' })}
<div class="card-foot">${kit.cancelForm()}</div>`,
  };
}

export function renderStep(view: UpstreamView, kit: StepKit): StepContent {
  return view.kind === 'problem' ? problemStep(view, kit) : startStep(view, kit);
}
