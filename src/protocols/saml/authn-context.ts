/**
 * RequestedAuthnContext and the levels of assurance. A class reference is a level's own name
 * (`low`, `substantial`, `high`, as the product documents write it) or its eIDAS URI
 * (`http://eidas.europa.eu/LoA/low`, …); the Response names the level reached in the vocabulary
 * the request used. The comparison is the SAML core one (§3.3.2.2.1): exact (one of the listed),
 * minimum (at least the lowest listed), better (above the lowest listed), maximum (at most the
 * highest listed).
 */
import { LEVELS_OF_ASSURANCE, type LevelOfAssurance } from '../../core/transaction.js';
import type { AuthnContextComparison } from './request.js';

const EIDAS = 'http://eidas.europa.eu/LoA/';
const RANK: Readonly<Record<LevelOfAssurance, number>> = { low: 1, substantial: 2, high: 3 };

export type Vocabulary = 'plain' | 'eidas';

function levelOf(classRef: string): { level: LevelOfAssurance; vocabulary: Vocabulary } | undefined {
  if ((LEVELS_OF_ASSURANCE as readonly string[]).includes(classRef)) return { level: classRef as LevelOfAssurance, vocabulary: 'plain' };
  if (classRef.startsWith(EIDAS)) {
    const rest = classRef.slice(EIDAS.length);
    if ((LEVELS_OF_ASSURANCE as readonly string[]).includes(rest)) return { level: rest as LevelOfAssurance, vocabulary: 'eidas' };
  }
  return undefined;
}

export function classRefOf(level: LevelOfAssurance, vocabulary: Vocabulary): string {
  return vocabulary === 'eidas' ? `${EIDAS}${level}` : level;
}

export type AuthnContextDecision =
  /** The levels that would satisfy the request, lowest first, and the vocabulary to answer in. */
  | { ok: true; acceptable: LevelOfAssurance[]; minimum: LevelOfAssurance | null; vocabulary: Vocabulary }
  | { ok: false; reason: string };

/** What a RequestedAuthnContext asks for; none asked: any level, answered in plain names. */
export function decideAuthnContext(requested: { comparison: AuthnContextComparison; classRefs: string[] } | undefined): AuthnContextDecision {
  if (!requested) return { ok: true, acceptable: [...LEVELS_OF_ASSURANCE], minimum: null, vocabulary: 'plain' };
  const known = requested.classRefs.map(levelOf).filter((l): l is NonNullable<typeof l> => l !== undefined);
  if (known.length === 0) {
    return { ok: false, reason: `none of the requested AuthnContextClassRefs is a level of assurance eidhub knows (${LEVELS_OF_ASSURANCE.join(', ')}, or their eIDAS URIs)` };
  }
  const ranks = known.map((k) => RANK[k.level]);
  const lowest = Math.min(...ranks);
  const highest = Math.max(...ranks);
  const accept = (l: LevelOfAssurance): boolean => {
    const r = RANK[l];
    switch (requested.comparison) {
      case 'exact':
        return ranks.includes(r);
      case 'minimum':
        return r >= lowest;
      case 'better':
        return r > lowest;
      case 'maximum':
        return r <= highest;
    }
  };
  const acceptable = LEVELS_OF_ASSURANCE.filter(accept);
  if (acceptable.length === 0) return { ok: false, reason: `no level of assurance is better than ${LEVELS_OF_ASSURANCE[lowest - 1]}` };
  return { ok: true, acceptable, minimum: acceptable[0] ?? null, vocabulary: known[0]!.vocabulary };
}

/** Whether a login at `reached` satisfies the decision. */
export function satisfies(decision: Extract<AuthnContextDecision, { ok: true }>, reached: LevelOfAssurance): boolean {
  return decision.acceptable.includes(reached);
}
