/**
 * The simulator's test identities: the people one may log in as, as itsme's test environment has
 * them. Maxence Legrand is the person of itsme's documentation (seed 002) and comes first.
 */
import { createHash } from 'node:crypto';

export interface TestIdentity {
  /** The consent form's value for this person; never shown to a client. */
  id: string;
  givenName: string;
  familyName: string;
  gender: 'female' | 'male';
  /** YYYY-MM-DD */
  birthdate: string;
}

export const TEST_IDENTITIES: readonly TestIdentity[] = [
  { id: 'maxence-legrand', givenName: 'Maxence', familyName: 'Legrand', gender: 'female', birthdate: '1981-04-24' },
  { id: 'lucas-peeters', givenName: 'Lucas', familyName: 'Peeters', gender: 'male', birthdate: '1990-07-12' },
  { id: 'elise-janssens', givenName: 'Élise', familyName: 'Janssens', gender: 'female', birthdate: '1975-11-03' },
  { id: 'noah-dubois', givenName: 'Noah', familyName: 'Dubois', gender: 'male', birthdate: '2001-02-28' },
  { id: 'lotte-vermeulen', givenName: 'Lotte', familyName: 'Vermeulen', gender: 'female', birthdate: '1994-09-17' },
];

/**
 * A person's `sub`: opaque like itsme's (base64 of 32 bytes), and the same for the same person
 * in every process, after every restart, on every store.
 */
export function subjectOf(identity: TestIdentity): string {
  return createHash('sha256').update(`eidhub itsme simulator subject:${identity.id}`).digest('base64');
}

const bySubject = new Map(TEST_IDENTITIES.map((identity) => [subjectOf(identity), identity]));
const byId = new Map(TEST_IDENTITIES.map((identity) => [identity.id, identity]));

export const identityBySubject = (sub: string): TestIdentity | undefined => bySubject.get(sub);
export const identityById = (id: string): TestIdentity | undefined => byId.get(id);

export const fullName = (identity: TestIdentity): string => `${identity.givenName} ${identity.familyName}`;

/** The claims of itsme's `profile` scope. */
export function profileClaims(identity: TestIdentity): Record<string, string> {
  return {
    name: fullName(identity),
    given_name: identity.givenName,
    family_name: identity.familyName,
    gender: identity.gender,
    birthdate: identity.birthdate,
  };
}
