/**
 * Checks answers against the OpenAPI document the server publishes: every status a test sees
 * must be documented for the operation, and the body must match its schema.
 */
import assert from 'node:assert/strict';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import type { FormatsPlugin } from 'ajv-formats';

const addFormats = addFormatsModule as unknown as FormatsPlugin;

interface Doc {
  paths: Record<string, Record<string, { responses: Record<string, { content?: Record<string, { schema: unknown }> }> }>>;
}

const pointer = (s: string) => s.replace(/~/g, '~0').replace(/\//g, '~1');

export class OpenApiValidator {
  private readonly ajv = new Ajv2020({ strict: false, allErrors: true });
  /** How many answers were checked, so a suite can show that it checked them. */
  checked = 0;

  constructor(private readonly doc: Doc) {
    addFormats(this.ajv);
    this.ajv.addSchema(doc as object, 'openapi.json');
  }

  static async fetch(baseUrl: string): Promise<OpenApiValidator> {
    const res = await fetch(`${baseUrl}/auth/rest/openapi.json`);
    assert.equal(res.status, 200);
    return new OpenApiValidator((await res.json()) as Doc);
  }

  /** Checks that an answer without a body (204) is documented for `method pathTemplate` as one without content. */
  async checkEmpty(method: string, pathTemplate: string, res: Response): Promise<void> {
    const operation = this.doc.paths[pathTemplate]?.[method];
    assert.ok(operation, `${method} ${pathTemplate} is not in the OpenAPI document`);
    const response = operation.responses[String(res.status)];
    assert.ok(response, `status ${res.status} of ${method} ${pathTemplate} is not documented`);
    assert.equal(response.content, undefined, `${res.status} of ${method} ${pathTemplate} is documented with content`);
    assert.equal(await res.text(), '');
    this.checked++;
  }

  /** Validates a response to `method pathTemplate` (e.g. `get`, `/auth/rest/sessions/{id}`). */
  async check(method: string, pathTemplate: string, res: Response): Promise<unknown> {
    const status = String(res.status);
    const operation = this.doc.paths[pathTemplate]?.[method];
    assert.ok(operation, `${method} ${pathTemplate} is not in the OpenAPI document`);
    const response = operation.responses[status];
    assert.ok(response, `status ${status} of ${method} ${pathTemplate} is not documented`);
    const contentType = (res.headers.get('content-type') ?? '').split(';')[0]!.trim();
    assert.ok(response.content?.[contentType], `${contentType} for ${status} of ${method} ${pathTemplate} is not documented`);
    const body: unknown = await res.json();
    const ref = `openapi.json#/paths/${pointer(pathTemplate)}/${method}/responses/${status}/content/${pointer(contentType)}/schema`;
    const validate = this.ajv.getSchema(ref) ?? this.ajv.compile({ $ref: ref });
    assert.ok(validate(body), `${method} ${pathTemplate} ${status}: ${this.ajv.errorsText(validate.errors)}\n${JSON.stringify(body)}`);
    this.checked++;
    return body;
  }
}
