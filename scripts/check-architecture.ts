/**
 * The architecture's rules, checked from the source text (`npm run check:architecture`; also run by
 * `npm test` through test/architecture/layers.test.ts):
 *
 * 1. The folder-level import graph of `src/` has no cycles. A node is a top-level folder (`machines`,
 *    `persistence`, `cli` with its `commands`, ...), except that under `services/` each adapter family is a
 *    node of its own (`services/redis`, `services/kafka`, `services/memory`, `services/providers` with its
 *    `simulated` provider) apart from the ports (`services`); a file directly in `src/` (`config.ts`,
 *    `events.ts`, ...) is a node of its own.
 * 2. The pure layers (`machines/`, `quality/`, `prompts/`) import nothing that does I/O. They import only
 *    each other, `provenance/`, the root modules `events.ts`, `errors.ts`, `defaults.ts` and the port
 *    interfaces (`services/ports.ts`); and nothing they load at run time (their value imports, followed
 *    through every module they reach) imports a package other than `xstate`, `zod` and `node:crypto`
 *    (hashing). Type-only imports are erased, so they load nothing.
 * 3. `src/` uses XState's public API only: no `_parent` or other underscore internals, no
 *    `Object.create` of actor logic, no deep imports into `xstate/dist`.
 *
 *   node --import tsx scripts/check-architecture.ts      prints every violation, exits 1 if any
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, posix, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface ImportEdge {
  /** Importing file, relative to src, with forward slashes. */
  from: string;
  /** The specifier as written. */
  specifier: string;
  /** For a relative import: the imported file relative to src (undefined when outside src). */
  target?: string;
  /** `import type` / `export type`: erased by the compiler, loads nothing. */
  typeOnly: boolean;
}

const PURE_FOLDERS = ['machines', 'quality', 'prompts'] as const;
/** What a pure layer may import besides the pure layers themselves. */
const PURE_LAYER_MAY_IMPORT = ['provenance/', 'events.ts', 'errors.ts', 'defaults.ts', 'services/ports.ts'];
const PURE_PACKAGES = new Set(['xstate', 'zod', 'node:crypto']);
const XSTATE_INTERNALS = [
  /\._parent\b/,
  /\._(snapshot|actorScope|processingStatus|deferred|systemId|syncSnapshot)\b/,
  /\.system\._\w+/,
  /Object\.create\(\s*\w*[mM]achine/,
  /from 'xstate\/(dist|lib|src)/,
];

function walk(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return walk(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

/** Every `import ... from`, `export ... from`, side-effect `import '...'` and dynamic `import('...')`. */
export function importsOf(source: string): string[] {
  return importStatements(source).map((statement) => statement.specifier);
}

function importStatements(source: string): Array<{ specifier: string; typeOnly: boolean }> {
  const found: Array<{ specifier: string; typeOnly: boolean }> = [];
  for (const match of source.matchAll(/(?:^|\n)\s*(import|export)\s([^'"]*?)\sfrom\s+'([^']+)'/g)) {
    found.push({ specifier: match[3]!, typeOnly: /^type\s/.test(match[2]!) });
  }
  for (const match of source.matchAll(/(?:^|\n)\s*import\s+'([^']+)'/g)) {
    found.push({ specifier: match[1]!, typeOnly: false });
  }
  for (const match of source.matchAll(/\bimport\(\s*'([^']+)'\s*\)/g)) {
    found.push({ specifier: match[1]!, typeOnly: false });
  }
  return found;
}

/** The node a file belongs to: its layer (top-level folder, or adapter family under services), or itself. */
export function nodeOf(file: string): string {
  const parts = posix.dirname(file).split('/');
  if (parts[0] === '.') return file;
  return parts[0] === 'services' && parts.length > 1 ? `services/${parts[1]}` : parts[0]!;
}

export function importEdges(srcDir: string): ImportEdge[] {
  const edges: ImportEdge[] = [];
  for (const path of walk(srcDir)) {
    const from = relative(srcDir, path).split(sep).join('/');
    for (const { specifier, typeOnly } of importStatements(readFileSync(path, 'utf8'))) {
      let target: string | undefined;
      if (specifier.startsWith('.')) {
        const absolute = resolve(dirname(path), specifier).replace(/\.js$/, '.ts');
        const inside = relative(srcDir, absolute);
        if (!inside.startsWith('..')) target = inside.split(sep).join('/');
      }
      edges.push({ from, specifier, target, typeOnly });
    }
  }
  return edges;
}

/** Cycles of the folder-level graph, each as the list of nodes it goes through (Tarjan's SCCs). */
export function folderCycles(edges: readonly ImportEdge[]): string[][] {
  const graph = new Map<string, Set<string>>();
  for (const { from, target } of edges) {
    if (target === undefined) continue;
    const a = nodeOf(from);
    const b = nodeOf(target);
    if (a === b) continue;
    if (!graph.has(a)) graph.set(a, new Set());
    if (!graph.has(b)) graph.set(b, new Set());
    graph.get(a)!.add(b);
  }
  let index = 0;
  const indexes = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const cycles: string[][] = [];
  const connect = (node: string): void => {
    indexes.set(node, index);
    low.set(node, index);
    index += 1;
    stack.push(node);
    onStack.add(node);
    for (const next of graph.get(node) ?? []) {
      if (!indexes.has(next)) {
        connect(next);
        low.set(node, Math.min(low.get(node)!, low.get(next)!));
      } else if (onStack.has(next)) {
        low.set(node, Math.min(low.get(node)!, indexes.get(next)!));
      }
    }
    if (low.get(node) === indexes.get(node)) {
      const component: string[] = [];
      let member: string;
      do {
        member = stack.pop()!;
        onStack.delete(member);
        component.push(member);
      } while (member !== node);
      if (component.length > 1) cycles.push(component.sort());
    }
  };
  for (const node of [...graph.keys()].sort()) if (!indexes.has(node)) connect(node);
  return cycles;
}

/**
 * Imports of the pure layers that break the rule: a module outside what they may import, or a value import
 * that loads (directly or through the modules it reaches) a package that does I/O.
 */
export function impureImports(edges: readonly ImportEdge[]): string[] {
  const inPureLayer = (file: string) => PURE_FOLDERS.some((folder) => file.startsWith(`${folder}/`));
  const mayImport = (file: string) =>
    inPureLayer(file) ||
    PURE_LAYER_MAY_IMPORT.some((allowed) => file === allowed || file.startsWith(allowed));
  const valueImports = new Map<string, ImportEdge[]>();
  for (const edge of edges) {
    if (edge.typeOnly) continue;
    const list = valueImports.get(edge.from) ?? [];
    list.push(edge);
    valueImports.set(edge.from, list);
  }
  /** The first I/O package a module loads at run time, following value imports; undefined when none. */
  const loadsIo = (file: string, seen = new Set<string>()): string | undefined => {
    if (seen.has(file)) return undefined;
    seen.add(file);
    for (const { specifier, target } of valueImports.get(file) ?? []) {
      if (target === undefined) {
        if (!PURE_PACKAGES.has(specifier)) return specifier;
        continue;
      }
      const found = loadsIo(target, seen);
      if (found !== undefined) return found;
    }
    return undefined;
  };
  const problems: string[] = [];
  for (const { from, specifier, target, typeOnly } of edges) {
    if (!inPureLayer(from)) continue;
    if (target !== undefined && !mayImport(target)) {
      problems.push(`${from} imports ${specifier}`);
      continue;
    }
    if (typeOnly) continue;
    const io =
      target === undefined ? (PURE_PACKAGES.has(specifier) ? undefined : specifier) : loadsIo(target);
    if (io === undefined) continue;
    problems.push(`${from} imports ${specifier}${io === specifier ? '' : `, which loads ${io}`}`);
  }
  return problems;
}

/** Uses of XState internals in `src`, as `file:line: text`. */
export function xstateInternals(srcDir: string): string[] {
  const found: string[] = [];
  for (const path of walk(srcDir)) {
    const lines = readFileSync(path, 'utf8').split('\n');
    lines.forEach((line, i) => {
      if (XSTATE_INTERNALS.some((pattern) => pattern.test(line))) {
        found.push(`${relative(srcDir, path).split(sep).join('/')}:${i + 1}: ${line.trim()}`);
      }
    });
  }
  return found;
}

export function checkArchitecture(srcDir: string): string[] {
  const edges = importEdges(srcDir);
  return [
    ...folderCycles(edges).map((cycle) => `import cycle between folders: ${cycle.join(' <-> ')}`),
    ...impureImports(edges).map((line) => `pure layer does I/O: ${line}`),
    ...xstateInternals(srcDir).map((line) => `XState internals: ${line}`),
  ];
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const srcDir = fileURLToPath(new URL('../src', import.meta.url));
  const problems = checkArchitecture(srcDir);
  for (const problem of problems) process.stderr.write(`${problem}\n`);
  process.stdout.write(
    problems.length === 0 ? 'architecture: no folder cycles, pure layers pure, public XState API only\n' : '',
  );
  process.exitCode = problems.length === 0 ? 0 : 1;
}
