/**
 * The OIDC end-to-end suite again, unchanged, with the oidc-provider bypasses off
 * (`oidcFastPaths: false`, src/protocols/oidc/bypasses/): every request takes oidc-provider's own
 * path. An oidc-provider upgrade that breaks a bypass then fails one run and not the other.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

// Set before the suite and its support module load: imports are hoisted, so they come dynamically.
process.env.EIDHUB_TEST_OIDC_FAST_PATHS = 'off';
await import('./oidc.e2e.test.js');
const { startEidhub } = await import('./support/eidhub.js');

describe('the suite above ran with the bypasses off', () => {
  it('starts its servers with oidcFastPaths: false', async () => {
    const eidhub = await startEidhub({});
    try {
      assert.equal(eidhub.config.oidcFastPaths, false);
    } finally {
      await eidhub.close();
    }
  });
});
