/**
 * The `acr_values` keys of the seeds: `idp:<provider>`, `loa:<level>`, and the authenticators'
 * provider parameters as `<name>:<value>` (`otp_sms_sender:<name>`, with `__` for a space, which
 * the authenticator reads). Unknown keys are ignored, as acr_values are voluntary.
 */
import { LEVELS_OF_ASSURANCE, type LevelOfAssurance } from '../../core/transaction.js';

export interface AcrRequest {
  idp: string | undefined;
  loa: LevelOfAssurance | undefined;
  providerParams: Record<string, string>;
  problems: string[];
}

/** `providerParams`: the parameter names the authenticators take (Authenticator.providerParams). */
export function parseAcrValues(acrValues: string | undefined, providerParams: ReadonlySet<string>): AcrRequest {
  const out: AcrRequest = { idp: undefined, loa: undefined, providerParams: {}, problems: [] };
  for (const item of (acrValues ?? '').split(' ').filter(Boolean)) {
    const i = item.indexOf(':');
    if (i <= 0) continue;
    const key = item.slice(0, i);
    const value = item.slice(i + 1);
    if (key === 'idp') {
      if (out.idp !== undefined && out.idp !== value) out.problems.push(`acr_values: more than one idp (${out.idp}, ${value})`);
      out.idp = value;
    } else if (key === 'loa') {
      if ((LEVELS_OF_ASSURANCE as readonly string[]).includes(value)) out.loa = value as LevelOfAssurance;
      else out.problems.push(`acr_values: loa must be one of ${LEVELS_OF_ASSURANCE.join(', ')}`);
    } else if (providerParams.has(key)) {
      out.providerParams[key] = value;
    }
  }
  return out;
}
