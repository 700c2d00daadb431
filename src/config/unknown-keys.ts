/**
 * Every object of the config refuses a key it does not know: a misspelt option (`pcke` for
 * `pkce`) would otherwise be dropped without a word and its default used. The message suggests
 * the known key nearest the misspelt one.
 */
import { z } from 'zod';

/** Edit distance with adjacent transpositions (`pcke` is one edit from `pkce`), case ignored. */
function distance(a: string, b: string): number {
  const s = a.toLowerCase();
  const t = b.toLowerCase();
  const d: number[][] = Array.from({ length: s.length + 1 }, (_r, i) => Array.from({ length: t.length + 1 }, (_c, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= s.length; i++) {
    for (let j = 1; j <= t.length; j++) {
      const cost = s[i - 1] === t[j - 1] ? 0 : 1;
      let best = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && s[i - 1] === t[j - 2] && s[i - 2] === t[j - 1]) best = Math.min(best, d[i - 2]![j - 2]! + 1);
      d[i]![j] = best;
    }
  }
  return d[s.length]![t.length]!;
}

/**
 * The known key `key` is most likely a misspelling of: the nearest within a few edits, else one
 * that begins with it or that it begins with (`pool` for `poolSize`, `timeout` for `timeoutMs`).
 */
function nearestKey(key: string, known: readonly string[]): string | undefined {
  const limit = Math.max(1, Math.min(3, Math.floor(key.length / 3)));
  let nearest: { key: string; d: number } | undefined;
  for (const candidate of known) {
    const d = distance(key, candidate);
    if (d <= limit && (!nearest || d < nearest.d)) nearest = { key: candidate, d };
  }
  if (nearest) return nearest.key;
  const lower = key.toLowerCase();
  return known.find((candidate) => {
    const c = candidate.toLowerCase();
    return Math.min(c.length, lower.length) >= 3 && (c.startsWith(lower) || lower.startsWith(c));
  });
}

/** A suggestion for an unknown key, if a known one is near: ` (did you mean "pkce"?)`. */
function suggestion(key: string, known: readonly string[]): string {
  const near = nearestKey(key, known);
  return near === undefined ? '' : ` (did you mean "${near}"?)`;
}

/**
 * The message of an object's unknown keys: for one key, said of that key (formatIssues in load.ts
 * puts the key into the path); for several, each named with its suggestion.
 */
const unknownKeysError: z.core.$ZodErrorMap = (issue) => {
  if (issue.code !== 'unrecognized_keys') return undefined;
  const known = issue.inst instanceof z.ZodObject ? Object.keys(issue.inst.shape) : [];
  const [only] = issue.keys;
  if (issue.keys.length === 1 && only !== undefined) return `unknown key${suggestion(only, known)}`;
  return `unknown keys ${issue.keys.map((key) => `"${key}"${suggestion(key, known)}`).join(', ')}`;
};

/** An object of the config: its keys and no other (see unknownKeysError for the message). */
export function strictObject<T extends z.core.$ZodLooseShape>(shape: T) {
  return z.strictObject(shape, { error: unknownKeysError });
}
