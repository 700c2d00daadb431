/**
 * The import graph of src/ and the checks run on it: layer rules and import cycles
 * (CONVENTIONS.md item 12). Reading files is kept apart from the graph functions, which take
 * plain data, so test/layers.test.ts can also feed them an in-memory graph and prove they find
 * what they should.
 *
 * Every import counts, type-only ones included: a type that points the wrong way is still a
 * layering error, and a cycle through types still ties the modules together.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { posix } from 'node:path';
import ts from 'typescript';

/** Stands for every Node builtin (`node:fs`, `crypto` …) in a rule's list of targets. */
export const NODE_BUILTINS = 'node builtins';

export type ImportKind = 'internal' | 'builtin' | 'package' | 'unresolved';

/** One import of one module. `to` is a repository path for an internal target, else the specifier. */
export interface ImportEdge {
  from: string;
  to: string;
  kind: ImportKind;
}

export interface ImportGraph {
  /** Repository paths (`src/core/ids.ts`) of every module read, sorted. */
  modules: string[];
  edges: ImportEdge[];
}

/**
 * A rule on what the modules under `modules` may import. Entries are folder prefixes ending in
 * `/` (`src/core/`), single files (`src/ui/routes.ts`) or NODE_BUILTINS. Either an allow-list
 * (`mayImportOnly`: anything else is a violation, npm packages included) or a deny-list.
 */
export type LayerRule =
  | { modules: readonly string[]; mayImportOnly: readonly string[] }
  | { modules: readonly string[]; mustNotImport: readonly string[] };

/**
 * Every module specifier a TypeScript file names: imports, `export … from`, `import()`,
 * `import('…').T`, `require()`. A computed one is given as `import(<its text>)`, which names no
 * file nor package, so it is reported as unresolved rather than dropped.
 */
export function importSpecifiers(fileName: string, text: string): string[] {
  const source = ts.createSourceFile(fileName, text, ts.ScriptTarget.Latest, false, ts.ScriptKind.TS);
  const found: string[] = [];
  const named = (node: ts.Expression | undefined): void => {
    if (node) found.push(ts.isStringLiteralLike(node) ? node.text : `import(${node.getText(source)})`);
  };
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) {
      named(node.moduleSpecifier);
    } else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference)) {
      named(node.moduleReference.expression);
    } else if (ts.isCallExpression(node) && (node.expression.kind === ts.SyntaxKind.ImportKeyword || isRequire(node.expression))) {
      named(node.arguments[0]);
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument)) {
      named(node.argument.literal);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

function isRequire(callee: ts.Expression): boolean {
  return ts.isIdentifier(callee) && callee.text === 'require';
}

const BUILTINS = new Set(builtinModules);
const PACKAGE_NAME = /^(@[a-z0-9][\w.~-]*\/)?[a-z0-9][\w.~-]*(\/.*)?$/i;

/**
 * Where `specifier`, imported by the module at repository path `from`, leads. Relative
 * specifiers resolve as the compiler does for our sources: `x.js` is the file `x.ts`, a name
 * without extension is `name.ts` or the folder's `index.ts`, other files (JSON) are themselves.
 * A non-literal `import(expr)` or a relative path to nothing is `unresolved`.
 */
export function resolveImport(from: string, specifier: string, isFile: (path: string) => boolean): Omit<ImportEdge, 'from'> {
  if (specifier === '.' || specifier === '..' || specifier.startsWith('./') || specifier.startsWith('../')) {
    const target = posix.join(posix.dirname(from), specifier);
    const candidates = [target.replace(/\.js$/, '.ts'), target, `${target}.ts`, `${target}/index.ts`];
    const found = candidates.find(isFile);
    return found ? { to: found, kind: 'internal' } : { to: specifier, kind: 'unresolved' };
  }
  if (specifier.startsWith('node:') || BUILTINS.has(specifier)) return { to: specifier, kind: 'builtin' };
  return { to: specifier, kind: PACKAGE_NAME.test(specifier) ? 'package' : 'unresolved' };
}

/** The graph of in-memory sources (repository path → text); `isFile` answers for targets that are not sources. */
export function buildImportGraph(sources: ReadonlyMap<string, string>, isFile: (path: string) => boolean = () => false): ImportGraph {
  const exists = (path: string): boolean => sources.has(path) || isFile(path);
  const modules = [...sources.keys()].sort();
  const edges = modules.flatMap((from) =>
    importSpecifiers(from, sources.get(from) ?? '').map((specifier) => ({ from, ...resolveImport(from, specifier, exists) })),
  );
  return { modules, edges };
}

/** Reads every `.ts` file under `dir` (a path relative to `root`) and builds its graph. */
export function readImportGraph(root: string, dir = 'src'): ImportGraph {
  const sources = new Map<string, string>();
  const walk = (relative: string): void => {
    for (const entry of readdirSync(posix.join(root, relative), { withFileTypes: true })) {
      const path = posix.join(relative, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.isFile() && entry.name.endsWith('.ts')) sources.set(path, readFileSync(posix.join(root, path), 'utf8'));
    }
  };
  walk(dir);
  return buildImportGraph(sources, (path) => existsSync(posix.join(root, path)) && statSync(posix.join(root, path)).isFile());
}

/** Whether a folder prefix (`src/core/`) or a file path names `path`. */
function covers(entry: string, path: string): boolean {
  return entry.endsWith('/') ? path.startsWith(entry) : path === entry;
}

function importsAnyOf(edge: ImportEdge, entries: readonly string[]): boolean {
  return entries.some((entry) => (entry === NODE_BUILTINS ? edge.kind === 'builtin' : edge.kind === 'internal' && covers(entry, edge.to)));
}

/** The imports that break `rule`, each as `src/a/b.ts -> src/c/d.ts` (or `-> package`), sorted and once each. */
export function layerViolations(graph: ImportGraph, rule: LayerRule): string[] {
  const bad = graph.edges.filter(
    (edge) =>
      edge.kind !== 'unresolved' &&
      rule.modules.some((entry) => covers(entry, edge.from)) &&
      ('mayImportOnly' in rule ? !importsAnyOf(edge, rule.mayImportOnly) : importsAnyOf(edge, rule.mustNotImport)),
  );
  return [...new Set(bad.map((edge) => `${edge.from} -> ${edge.to}`))].sort();
}

/** The modules a rule speaks of; a rule that covers none checks nothing. */
export function modulesCovered(graph: ImportGraph, rule: LayerRule): string[] {
  return graph.modules.filter((path) => rule.modules.some((entry) => covers(entry, path)));
}

/** Imports that lead nowhere (a missing file, a non-literal `import()`), as `from -> specifier`. */
export function unresolvedImports(graph: ImportGraph): string[] {
  return graph.edges.filter((edge) => edge.kind === 'unresolved').map((edge) => `${edge.from} -> ${edge.to}`);
}

/** Each module's internal imports, once each and sorted, so every walk below is deterministic. */
function internalNeighbours(graph: ImportGraph): Map<string, string[]> {
  const next = new Map<string, Set<string>>(graph.modules.map((path) => [path, new Set()]));
  for (const edge of graph.edges) if (edge.kind === 'internal') next.get(edge.from)?.add(edge.to);
  return new Map([...next].map(([path, targets]) => [path, [...targets].sort()]));
}

/** Every module `start` imports, directly or not. */
export function reachableFrom(graph: ImportGraph, start: string): Set<string> {
  const next = internalNeighbours(graph);
  const seen = new Set<string>();
  const stack = [start];
  for (let at = stack.pop(); at !== undefined; at = stack.pop()) {
    for (const to of next.get(at) ?? []) {
      if (!seen.has(to)) {
        seen.add(to);
        stack.push(to);
      }
    }
  }
  return seen;
}

/** Tarjan's strongly connected components of the internal imports, each sorted. */
export function stronglyConnected(graph: ImportGraph): string[][] {
  const next = internalNeighbours(graph);
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const components: string[][] = [];
  const connect = (node: string): void => {
    index.set(node, index.size);
    low.set(node, index.get(node)!);
    stack.push(node);
    onStack.add(node);
    for (const to of next.get(node) ?? []) {
      if (!index.has(to)) {
        connect(to);
        low.set(node, Math.min(low.get(node)!, low.get(to)!));
      } else if (onStack.has(to)) {
        low.set(node, Math.min(low.get(node)!, index.get(to)!));
      }
    }
    if (low.get(node) === index.get(node)) {
      const component: string[] = [];
      let member: string | undefined;
      do {
        member = stack.pop()!;
        onStack.delete(member);
        component.push(member);
      } while (member !== node);
      components.push(component.sort());
    }
  };
  for (const node of next.keys()) if (!index.has(node)) connect(node);
  return components;
}

/**
 * The import cycles, each as `a -> b -> a`, started at its smallest path so one cycle is listed
 * once whatever module it was found from. For every import inside a strongly connected
 * component, the shortest cycle through it is listed: so every import that takes part in a
 * cycle shows up, without listing every one of the (possibly very many) elementary cycles.
 */
export function importCycles(graph: ImportGraph): string[] {
  const next = internalNeighbours(graph);
  const cycles = new Set<string>();
  for (const component of stronglyConnected(graph)) {
    const inside = new Set(component);
    for (const from of component) {
      for (const to of next.get(from) ?? []) {
        if (!inside.has(to)) continue;
        const path = shortestPath(next, inside, to, from);
        const cycle = [from, ...path.slice(0, -1)];
        const first = cycle.indexOf([...cycle].sort()[0]!);
        const rotated = [...cycle.slice(first), ...cycle.slice(0, first)];
        cycles.add([...rotated, rotated[0]].join(' -> '));
      }
    }
  }
  return [...cycles].sort();
}

/** The layer a module belongs to: its first folder under src/ (`src/core/`), or itself for a file directly there (`src/main.ts`). */
export function layerOf(path: string): string {
  const parts = path.split('/');
  return parts.length > 2 ? `${parts.slice(0, 2).join('/')}/` : path;
}

/**
 * The cycles between layers, each with the imports that make up its steps. Two modules need not
 * import each other for their layers to: `core/a.ts -> store/b.ts -> core/c.ts` ties core and
 * store together though no module cycle exists. Imports within one layer are left out.
 */
export function layerCycles(graph: ImportGraph): { chain: string; imports: string[] }[] {
  const crossing = graph.edges.filter((edge) => edge.kind === 'internal' && layerOf(edge.from) !== layerOf(edge.to));
  const layers: ImportGraph = {
    modules: [...new Set(graph.modules.map(layerOf))].sort(),
    edges: crossing.map((edge) => ({ from: layerOf(edge.from), to: layerOf(edge.to), kind: 'internal' })),
  };
  return importCycles(layers).map((chain) => {
    const steps = chain.split(' -> ');
    const imports = crossing
      .filter((edge) => steps.some((layer, at) => layerOf(edge.from) === layer && layerOf(edge.to) === steps[at + 1]))
      .map((edge) => `${edge.from} -> ${edge.to}`);
    return { chain, imports: [...new Set(imports)].sort() };
  });
}

/** A shortest path `from` … `to` (both included) within `inside`; one exists inside a strongly connected component. */
function shortestPath(next: Map<string, string[]>, inside: Set<string>, from: string, to: string): string[] {
  const cameFrom = new Map<string, string>();
  const queue = [from];
  for (let head = 0; head < queue.length && !cameFrom.has(to); head++) {
    const at = queue[head]!;
    for (const step of next.get(at) ?? []) {
      if (inside.has(step) && step !== from && !cameFrom.has(step)) {
        cameFrom.set(step, at);
        queue.push(step);
      }
    }
  }
  const path = [to];
  while (path[0] !== from) path.unshift(cameFrom.get(path[0]!)!);
  return path;
}
