/** Debian's `xmlsec1`, the independent signature checker of the SAML tests. */
import { execFileSync } from 'node:child_process';

export function xmlsecAvailable(): boolean {
  try {
    execFileSync('xmlsec1', ['--version'], { stdio: 'pipe' });
    return true;
  } catch {
    return false;
  }
}

/** In CI a missing xmlsec1 fails the run; elsewhere the suite says why it skips. */
export function xmlsecSkipReason(): string | false {
  if (xmlsecAvailable()) return false;
  if (process.env.CI === 'true') throw new Error('xmlsec1 is required in CI but is not installed (apt-get install xmlsec1)');
  return 'xmlsec1 not found (apt-get install xmlsec1)';
}
