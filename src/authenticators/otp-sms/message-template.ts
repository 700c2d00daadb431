/**
 * The SMS text a relying party writes itself (the CIBA `message` of seed 004): a template with
 * `{{code}}` where the code goes, and optionally `{{binding_message}}` where the request's
 * binding message goes. The rules keep it one SMS and keep it from being a phishing tool: it holds
 * the code, it is at most 160 characters once filled in, and it holds no link unless the realm
 * allows links (a code next to a link is what phishing looks like).
 */

export const CODE_PLACEHOLDER = '{{code}}';
export const BINDING_PLACEHOLDER = '{{binding_message}}';
/** One SMS: 160 characters (counted as characters, not GSM-7 septets). */
export const MAX_SMS_CHARACTERS = 160;
/** Every code has 6 digits (send-code.ts), so a filled-in template's length is known before the code is. */
const CODE_LENGTH = 6;

/**
 * Something a phone shows as a link: a scheme with `//`, `www.`, or a host name (labels joined by
 * dots, ending in a top-level domain of letters) that is not part of an e-mail address.
 */
const LINK = /\b[a-z][a-z0-9+.-]*:\/\/\S*|\bwww\.\S*|(?<![\w@.-])(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+[a-z]{2,63}(?![\w-])\S*/i;

/** The body of the SMS: the template with the code (and the binding message) put in. */
export function fillTemplate(template: string, code: string, bindingMessage?: string): string {
  return template.replaceAll(CODE_PLACEHOLDER, code).replaceAll(BINDING_PLACEHOLDER, bindingMessage ?? '');
}

const characters = (text: string) => [...text].length;

/** What in `text` looks like a link, or undefined. */
function linkIn(text: string): string | undefined {
  return LINK.exec(text)?.[0];
}

/** Why `template` cannot be sent, or undefined when it can. */
export function checkTemplate(template: string, rules: { allowUrls: boolean; bindingMessage?: string | undefined }): string | undefined {
  if (!template.includes(CODE_PLACEHOLDER)) return `message must hold ${CODE_PLACEHOLDER}, where the code goes`;
  if (template.includes(BINDING_PLACEHOLDER) && rules.bindingMessage === undefined) {
    return `message holds ${BINDING_PLACEHOLDER} but the request has no binding_message`;
  }
  const length = characters(fillTemplate(template, '0'.repeat(CODE_LENGTH), rules.bindingMessage));
  if (length > MAX_SMS_CHARACTERS) return `message is ${length} characters with the code put in; one SMS holds at most ${MAX_SMS_CHARACTERS}`;
  if (!rules.allowUrls) {
    // The placeholders are taken out first, so that "{{code}}.Thanks" is not read as a host name.
    const link = linkIn(template.replaceAll(CODE_PLACEHOLDER, ' ').replaceAll(BINDING_PLACEHOLDER, ' ')) ?? linkIn(rules.bindingMessage ?? '');
    if (link !== undefined) return `message may not hold a link, and ${JSON.stringify(link)} looks like one (the realm setting allowUrlsInMessage allows links)`;
  }
  return undefined;
}
