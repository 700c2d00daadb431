/**
 * The module layers of src/ point one way, and no module nor layer imports itself back
 * (ARCHITECTURE.md "Modules", CONVENTIONS.md item 12). The rules are the tables below; the graph
 * and its checks are in test/support/import-graph.ts, and the last suite proves on in-memory
 * graphs that they find what they should, so these tests cannot pass by reading nothing.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  buildImportGraph,
  importCycles,
  layerCycles,
  layerViolations,
  modulesCovered,
  NODE_BUILTINS,
  reachableFrom,
  readImportGraph,
  unresolvedImports,
  type ImportGraph,
  type LayerRule,
} from './support/import-graph.js';

/** All core may import: core is the bottom layer, so nothing of eidhub above it and no npm package. */
const CORE_MAY_IMPORT = ['src/core/', NODE_BUILTINS];

const LAYER_RULES: (LayerRule & { title: string })[] = [
  {
    title: 'src/core/ imports only node builtins and core itself',
    modules: ['src/core/'],
    mayImportOnly: CORE_MAY_IMPORT,
  },
  {
    // The hosted pages' routes are src/pages/; src/ui/ is the rendering kit every step uses.
    title: 'src/authenticators/ imports nothing from src/protocols/ nor the hosted pages (src/pages/)',
    modules: ['src/authenticators/'],
    mustNotImport: ['src/protocols/', 'src/pages/'],
  },
  {
    title: 'src/ui/ (templates, kit, texts) imports nothing from the pages, protocols or authenticators that use it',
    modules: ['src/ui/'],
    mustNotImport: ['src/pages/', 'src/protocols/', 'src/authenticators/'],
  },
  {
    title: 'src/protocols/ reach the hosted pages only through their contract, never src/pages/',
    modules: ['src/protocols/'],
    mustNotImport: ['src/pages/'],
  },
  {
    title: 'src/clients/, src/store/ and src/sms/ import nothing from src/protocols/, src/ui/ nor src/authenticators/',
    modules: ['src/clients/', 'src/store/', 'src/sms/'],
    mustNotImport: ['src/protocols/', 'src/ui/', 'src/authenticators/'],
  },
];

function assertNone(found: string[], what: string): void {
  if (found.length > 0) assert.fail(`${what}:\n  ${found.join('\n  ')}`);
}

/** Each layer cycle as its chain followed by the imports behind it. */
function describeLayerCycles(graph: ImportGraph): string[] {
  return layerCycles(graph).map(({ chain, imports }) => [chain, ...imports.map((line) => `    ${line}`)].join('\n  '));
}

function checkLayers(graph: ImportGraph): Record<string, string[]> {
  return Object.fromEntries(LAYER_RULES.map((rule) => [rule.title, layerViolations(graph, rule)]));
}

const graph = readImportGraph(fileURLToPath(new URL('..', import.meta.url)));

describe('module layers of src/', () => {
  for (const rule of LAYER_RULES) {
    it(rule.title, () => assertNone(layerViolations(graph, rule), `${rule.title}; these imports break it`));
  }

  it('has no import cycles between modules', () => assertNone(importCycles(graph), 'import cycles in src/'));

  it('has no import cycles between layers (the folders of src/)', () =>
    assertNone(describeLayerCycles(graph), 'layers of src/ that import each other, with the imports that do it'));

  it('every import names a file or a package', () => assertNone(unresolvedImports(graph), 'imports that lead nowhere'));
});

describe('the REST protocol and the hosted pages name no authenticator', () => {
  // An authenticator's words live in its folder: the REST protocol mounts any authenticator's
  // headless steps, the pages show any authenticator's steps.
  const WORDS = /otp|sms|phone|mobile/i;
  for (const folder of ['src/protocols/rest/', 'src/pages/']) {
    it(`${folder} names none of otp-sms's words`, () => {
      const root = fileURLToPath(new URL('..', import.meta.url));
      const files = readdirSync(join(root, folder), { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.ts'));
      assert.ok(files.length > 0, `${folder} has sources`);
      const found = files.flatMap((f) =>
        readFileSync(join(root, folder, f), 'utf8')
          .split('\n')
          .flatMap((line, i) => (WORDS.test(line) ? [`${folder}${f}:${i + 1}: ${line.trim()}`] : [])),
      );
      assertNone(found, `${folder} names an authenticator`);
    });
  }
});

describe('the layer checker', () => {
  it('reports a layering violation and a cycle in a synthetic graph', () => {
    const broken = buildImportGraph(
      new Map([
        ['src/core/transaction.ts', "import { randomUUID } from 'node:crypto';\nimport type { Store } from '../store';\nexport type T = Store;"],
        ['src/core/errors.ts', "import { z } from 'zod';"],
        ['src/store/index.ts', "export * from './types.js';"],
        ['src/store/types.ts', "export type Loaded = typeof import('../core/transaction.js');"],
        ['src/sms/console.ts', "export const load = () => import('../authenticators/otp/phone.js');"],
        ['src/sms/types.ts', 'export interface SmsProvider {}'],
        [
          'src/authenticators/otp/phone.ts',
          "import type { Routes } from '../../pages/hosted-pages.js';\nimport type { SmsProvider } from '../../sms/types.js';\nexport const pick = (name: string) => import(name);",
        ],
        ['src/pages/hosted-pages.ts', "import { pick } from '../authenticators/otp/phone.js';"],
        ['src/ui/kit.ts', "import type { Pick } from '../authenticators/otp/phone.js';"],
      ]),
    );
    assert.deepEqual(checkLayers(broken), {
      [LAYER_RULES[0]!.title]: ['src/core/errors.ts -> zod', 'src/core/transaction.ts -> src/store/index.ts'],
      [LAYER_RULES[1]!.title]: ['src/authenticators/otp/phone.ts -> src/pages/hosted-pages.ts'],
      [LAYER_RULES[2]!.title]: ['src/ui/kit.ts -> src/authenticators/otp/phone.ts'],
      [LAYER_RULES[3]!.title]: [],
      [LAYER_RULES[4]!.title]: ['src/sms/console.ts -> src/authenticators/otp/phone.ts'],
    });
    assert.deepEqual(importCycles(broken), [
      'src/authenticators/otp/phone.ts -> src/pages/hosted-pages.ts -> src/authenticators/otp/phone.ts',
      'src/core/transaction.ts -> src/store/index.ts -> src/store/types.ts -> src/core/transaction.ts',
    ]);
    assert.deepEqual(layerCycles(broken), [
      {
        chain: 'src/authenticators/ -> src/pages/ -> src/authenticators/',
        imports: ['src/authenticators/otp/phone.ts -> src/pages/hosted-pages.ts', 'src/pages/hosted-pages.ts -> src/authenticators/otp/phone.ts'],
      },
      {
        chain: 'src/authenticators/ -> src/sms/ -> src/authenticators/',
        imports: ['src/authenticators/otp/phone.ts -> src/sms/types.ts', 'src/sms/console.ts -> src/authenticators/otp/phone.ts'],
      },
      {
        chain: 'src/core/ -> src/store/ -> src/core/',
        imports: ['src/core/transaction.ts -> src/store/index.ts', 'src/store/types.ts -> src/core/transaction.ts'],
      },
    ]);
    assert.deepEqual(unresolvedImports(broken), ['src/authenticators/otp/phone.ts -> import(name)']);
  });

  it('passes a clean synthetic graph', () => {
    const clean = buildImportGraph(
      new Map([
        ['src/core/transaction.ts', "import { randomUUID } from 'node:crypto';\nexport { EidhubError } from './errors.js';"],
        ['src/core/errors.ts', "import { inspect } from 'util';\nexport class EidhubError extends Error {}"],
        ['src/store/types.ts', "import type { EidhubError } from '../core/transaction.js';\nimport fs = require('node:fs');"],
        ['src/authenticators/otp/index.ts', "import type { Kit } from '../../ui/kit.js';\nimport type { Store } from '../../store/types.js';"],
        ['src/ui/kit.ts', "import text from './locales/en.json' with { type: 'json' };"],
        ['src/main.ts', "import './authenticators/otp/index.js';\nconst store = await import('./store/types.js');"],
      ]),
      (path) => path === 'src/ui/locales/en.json',
    );
    assert.deepEqual(checkLayers(clean), Object.fromEntries(LAYER_RULES.map((rule) => [rule.title, []])));
    assert.deepEqual(importCycles(clean), []);
    assert.deepEqual(layerCycles(clean), []);
    assert.deepEqual(unresolvedImports(clean), []);
    assert.deepEqual([...reachableFrom(clean, 'src/main.ts')].sort(), [
      'src/authenticators/otp/index.ts',
      'src/core/errors.ts',
      'src/core/transaction.ts',
      'src/store/types.ts',
      'src/ui/kit.ts',
      'src/ui/locales/en.json',
    ]);
  });

  it('reads a real graph that is not trivial', () => {
    assert.ok(graph.modules.length > 30, `only ${graph.modules.length} modules read under src/`);
    const fromMain = reachableFrom(graph, 'src/main.ts');
    for (const layer of ['src/core/', 'src/store/', 'src/sms/', 'src/authenticators/', 'src/protocols/', 'src/ui/', 'src/http/']) {
      assert.ok([...fromMain].some((path) => path.startsWith(layer)), `src/main.ts reaches nothing in ${layer}`);
    }
    for (const rule of LAYER_RULES) assert.notDeepEqual(modulesCovered(graph, rule), [], `no module under ${rule.modules.join(', ')}`);
  });
});
