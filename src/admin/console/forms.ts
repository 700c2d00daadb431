/**
 * The console's client forms, made from the same JSON Schemas the Admin API validates with (and
 * so from the config file's zod schemas): each property becomes a field of the kind its schema
 * calls for, labelled with its name and hinted with its description. A posted form is read back
 * into the settings object the API would take, and the registry's errors (each naming its
 * field) are shown beside their fields.
 */
import type { FieldIssue } from '../../core/errors.js';
import { escapeHtml } from '../../ui/i18n.js';
import { CLIENT_SCHEMAS } from '../schemas.js';
import type { ClientKind } from '../service.js';

interface PropertySchema {
  type?: string;
  enum?: readonly string[];
  items?: { type?: string; enum?: readonly string[] };
  default?: unknown;
  description?: string;
}

type Control = 'text' | 'select' | 'checkbox' | 'tristate' | 'checkboxes' | 'lines' | 'document';

interface FormField {
  name: string;
  control: Control;
  required: boolean;
  options: readonly string[];
  defaultValue: unknown;
  description: string;
  /** Shown, never changed once the thing exists (its id). */
  fixed: boolean;
}

interface ObjectSchema {
  properties: Record<string, PropertySchema>;
  required?: readonly string[];
}

/** Form values as @fastify/formbody parses them: a repeated name gives an array. */
export type PostedForm = Readonly<Record<string, string | string[] | undefined>>;

/**
 * The fields of a form made from an object's JSON Schema: `choices` lists the options of array
 * properties the schema leaves open (allowedProviders: the enabled authenticators), `documents`
 * the properties that hold a whole document (SAML metadata), `fixed` those only a new thing may set.
 */
export function schemaFields(jsonSchema: object, options: { choices?: Readonly<Record<string, readonly string[]>>; documents?: readonly string[]; fixed?: readonly string[] } = {}): FormField[] {
  // A JSON Schema made from a zod schema (z.toJSONSchema), whose type says nothing of its shape.
  const schema = jsonSchema as ObjectSchema;
  return Object.entries(schema.properties).map(([name, p]) => {
    const itemsEnum = options.choices?.[name] ?? p.items?.enum;
    const control: Control = options.documents?.includes(name)
      ? 'document'
      : p.type === 'boolean'
        ? p.default === undefined
          ? 'tristate'
          : 'checkbox'
        : p.type === 'array'
          ? itemsEnum
            ? 'checkboxes'
            : 'lines'
          : p.enum
            ? 'select'
            : 'text';
    return { name, control, required: schema.required?.includes(name) ?? false, options: itemsEnum ?? p.enum ?? [], defaultValue: p.default, description: p.description ?? '', fixed: options.fixed?.includes(name) ?? false };
  });
}

/** The fields of a client form of `kind`; `providers` are the choices of `allowedProviders` (the enabled authenticators). */
export function formFields(kind: ClientKind, creating: boolean, providers: readonly string[]): FormField[] {
  const schemas = CLIENT_SCHEMAS[kind];
  return schemaFields(creating && 'create' in schemas ? schemas.create : schemas.body, { choices: { allowedProviders: providers }, fixed: ['clientId'] });
}

/** Reads a posted form back into settings; `clientId` comes from the path when editing. */
export function readForm(fields: readonly FormField[], form: PostedForm): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const values = (name: string): string[] => {
    const v = form[name];
    return v === undefined ? [] : Array.isArray(v) ? v : [v];
  };
  for (const field of fields) {
    const [first = ''] = values(field.name);
    switch (field.control) {
      case 'text':
      case 'select':
        if (first.trim() !== '') out[field.name] = first.trim();
        break;
      case 'document':
        if (first.trim() !== '') out[field.name] = first;
        break;
      case 'tristate':
        if (first === 'true' || first === 'false') out[field.name] = first === 'true';
        break;
      case 'checkbox':
        out[field.name] = first === 'on' || first === 'true';
        break;
      case 'checkboxes': {
        const chosen = values(field.name).filter((v) => v !== '');
        // allowedProviders: none ticked means every enabled provider, which is its absence.
        if (chosen.length > 0 || field.name !== 'allowedProviders') out[field.name] = chosen;
        break;
      }
      case 'lines':
        out[field.name] = first
          .split(/\r?\n/)
          .map((l) => l.trim())
          .filter((l) => l !== '');
        break;
    }
  }
  return out;
}

/** The form field an issue's path belongs to: `redirectUris[1]` → `redirectUris`. */
const fieldOf = (path: string) => /^[A-Za-z0-9_]+/.exec(path)?.[0] ?? '';

/** Markdown code spans of the schema's descriptions, as HTML. */
export function describe(text: string): string {
  return escapeHtml(text).replace(/`([^`]+)`/g, '<code>$1</code>');
}

/** Words from a property's name: `postLogoutRedirectUris` → `Post logout redirect URIs`. */
export function labelOf(name: string): string {
  const words = name.replace(/([a-z])([A-Z])/g, '$1 $2').toLowerCase();
  const spaced = words.replace(/\buris\b/g, 'URIs').replace(/\bid\b/g, 'ID').replace(/\bpkce\b/g, 'PKCE').replace(/\balg\b/g, 'algorithm');
  return spaced.charAt(0).toUpperCase() + spaced.slice(1);
}

/**
 * The fields as HTML: `values` are the settings to show (a client's, or what was posted), `issues`
 * the errors to show beside their fields; disabled for a read-only client. Issues of a field the
 * form has not (a whole-object rule) are shown above the fields.
 */
export function renderFields(fields: readonly FormField[], values: Record<string, unknown>, issues: readonly FieldIssue[], options: { readOnly: boolean; creating: boolean }): string {
  const byField = new Map<string, string[]>();
  const unplaced: string[] = [];
  for (const issue of issues) {
    const name = fieldOf(issue.field);
    if (fields.some((f) => f.name === name)) byField.set(name, [...(byField.get(name) ?? []), issue.field === name ? issue.message : `${issue.field}: ${issue.message}`]);
    else unplaced.push(`${issue.field}: ${issue.message}`);
  }
  const disabled = options.readOnly ? ' disabled' : '';
  const html = fields.map((field) => {
    const id = `f-${field.name}`;
    const errors = byField.get(field.name);
    const errorId = `${id}-error`;
    const described = `${id}-hint${errors ? ` ${errorId}` : ''}`;
    const invalid = errors ? ' aria-invalid="true"' : '';
    const value = values[field.name] ?? (options.creating ? field.defaultValue : undefined);
    const hint = `<p class="hint" id="${id}-hint">${describe(field.description)}</p>`;
    const error = errors ? `<p class="field-error" id="${errorId}">${errors.map(escapeHtml).join('<br>')}</p>` : '';
    const locked = !options.creating && field.fixed ? ' readonly' : '';
    const label = `${escapeHtml(labelOf(field.name))}${field.required ? '' : ' <span class="optional">(optional)</span>'}`;
    const cls = `field${errors ? ' has-error' : ''}`;
    switch (field.control) {
      case 'text':
        return `<div class="${cls}"><label for="${id}">${label}</label>${hint}<input id="${id}" name="${field.name}" value="${escapeHtml(typeof value === 'string' ? value : '')}" aria-describedby="${described}"${invalid}${field.required ? ' required' : ''}${locked}${disabled} autocomplete="off" spellcheck="false">${error}</div>`;
      case 'select': {
        const opts = [...(field.required || field.defaultValue !== undefined ? [] : ['']), ...field.options]
          .map((o) => `<option value="${escapeHtml(o)}"${o === (value ?? '') ? ' selected' : ''}>${o === '' ? '(default)' : escapeHtml(o)}</option>`)
          .join('');
        return `<div class="${cls}"><label for="${id}">${label}</label>${hint}<select id="${id}" name="${field.name}" aria-describedby="${described}"${invalid}${disabled}>${opts}</select>${error}</div>`;
      }
      case 'document':
        return `<div class="${cls} wide"><label for="${id}">${label}</label>${hint}<textarea id="${id}" name="${field.name}" rows="10" aria-describedby="${described}"${invalid}${field.required ? ' required' : ''}${disabled} spellcheck="false">${escapeHtml(typeof value === 'string' ? value : '')}</textarea>${
          options.readOnly ? '' : `<p class="hint file-pick" hidden><label>Or read it from a file: <input type="file" accept=".xml,application/xml,text/xml,application/samlmetadata+xml" data-into="${id}"></label></p>`
        }${error}</div>`;
      case 'tristate': {
        const current = value === true ? 'true' : value === false ? 'false' : '';
        const opts = [['', '(default)'], ['true', 'yes'], ['false', 'no']].map(([v, l]) => `<option value="${v}"${v === current ? ' selected' : ''}>${l}</option>`).join('');
        return `<div class="${cls}"><label for="${id}">${label}</label>${hint}<select id="${id}" name="${field.name}" aria-describedby="${described}"${invalid}${disabled}>${opts}</select>${error}</div>`;
      }
      case 'checkbox':
        return `<div class="${cls} check"><label><input type="checkbox" id="${id}" name="${field.name}"${value === true ? ' checked' : ''} aria-describedby="${described}"${disabled}> ${escapeHtml(labelOf(field.name))}</label>${hint}${error}</div>`;
      case 'checkboxes': {
        const chosen = new Set(Array.isArray(value) ? (value as string[]) : []);
        const boxes = field.options
          .map((o) => `<label class="choice"><input type="checkbox" name="${field.name}" value="${escapeHtml(o)}"${chosen.has(o) ? ' checked' : ''}${disabled}> <code>${escapeHtml(o)}</code></label>`)
          .join('');
        return `<fieldset class="${cls}" aria-describedby="${described}"${invalid}><legend>${label}</legend>${hint}<div class="choices-row">${boxes}</div>${error}</fieldset>`;
      }
      case 'lines': {
        const text = Array.isArray(value) ? (value as string[]).join('\n') : '';
        return `<div class="${cls}"><label for="${id}">${label}</label>${hint}<textarea id="${id}" name="${field.name}" rows="3" aria-describedby="${described}"${invalid}${field.required ? ' required' : ''}${disabled} spellcheck="false">${escapeHtml(text)}</textarea><p class="hint">One per line.</p>${error}</div>`;
      }
    }
  });
  const top = unplaced.length > 0 ? `<p class="alert alert-danger" role="alert">${unplaced.map(escapeHtml).join('<br>')}</p>` : '';
  return top + html.join('\n');
}
