/**
 * The levels of assurance in order (`low` < `substantial` < `high`): the one place that knows
 * which level satisfies which request, for every protocol.
 */
import type { LevelOfAssurance } from './transaction.js';

const RANK: Readonly<Record<LevelOfAssurance, number>> = { low: 1, substantial: 2, high: 3 };

/** Whether a login that reached `reached` satisfies a request for at least `requested`. */
export function meetsLoa(reached: LevelOfAssurance, requested: LevelOfAssurance | null | undefined): boolean {
  return requested === null || requested === undefined || RANK[reached] >= RANK[requested];
}
