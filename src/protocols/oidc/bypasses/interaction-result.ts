/**
 * Bypass (bench/FINDINGS.md, "Fix 10"): the interaction's result stored on the interaction the
 * hosted page already read, instead of through Provider#interactionResult, which reads it (and
 * looks up its browser session) a second time. Off with `oidcFastPaths: false`.
 */
import type { Interaction, InteractionResults } from 'oidc-provider';

/**
 * What oidc-provider's Provider#interactionResult(req, res, result, { mergeWithLastSubmission:
 * false }) does, done on `interaction`: set the result and save it for the rest of the
 * interaction's lifetime, on the clock that set its expiry. Returns where the browser goes on.
 */
export async function saveInteractionResult(interaction: Interaction, result: InteractionResults): Promise<string> {
  interaction.result = result;
  await interaction.save(interaction.exp - Math.floor(Date.now() / 1000));
  return interaction.returnTo;
}
