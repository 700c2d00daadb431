/**
 * The SMS body in each UI language. The last line is `@<host> #<code>` (origin-bound one-time
 * codes), so browsers can offer the code on the page of that host and no other.
 */
const TEXTS: Record<string, (code: string, minutes: number) => string> = {
  en: (c, m) => `Your login code is ${c}. It is valid for ${m} minutes. Never share it with anyone.`,
  da: (c, m) => `Din login-kode er ${c}. Den er gyldig i ${m} minutter. Del den aldrig med nogen.`,
  nl: (c, m) => `Uw inlogcode is ${c}. Deze is ${m} minuten geldig. Deel hem nooit met anderen.`,
  fi: (c, m) => `Kirjautumiskoodisi on ${c}. Se on voimassa ${m} minuuttia. Älä koskaan kerro sitä kenellekään.`,
  el: (c, m) => `Ο κωδικός σύνδεσής σας είναι ${c}. Ισχύει για ${m} λεπτά. Μην τον μοιραστείτε με κανέναν.`,
  no: (c, m) => `Innloggingskoden din er ${c}. Den er gyldig i ${m} minutter. Del den aldri med noen.`,
  sv: (c, m) => `Din inloggningskod är ${c}. Den gäller i ${m} minuter. Dela den aldrig med någon.`,
};

export function smsText(lang: string, code: string, validSeconds: number, publicHost: string): string {
  const text = TEXTS[lang] ?? TEXTS.en!;
  return `${text(code, Math.max(1, Math.round(validSeconds / 60)))}\n\n@${publicHost} #${code}`;
}
