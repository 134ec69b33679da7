/**
 * The architecture's rules, checked from the source text (`npm run check:architecture`; also run by
 * `npm test` through test/architecture/layers.test.ts):
 *
 * 1. The folder-level import graph of `src/` has no cycles. A node is a top-level folder (`machines`,
 *    `persistence`, `cli` with its `commands`, ...), except that under `services/` each adapter family is a
 *    node of its own (`services/redis`, `services/kafka`, `services/memory`, `services/providers` with its
 *    `simulated` provider) apart from the ports (`services`); a file directly in `src/` (`config.ts`,
 *    `events.ts`, ...) is a node of its own.
 * 2. The pure layers (`machines/`, `quality/`, `prompts/`) import nothing that does I/O: only each other,
 *    the pure root modules (`events.ts`, `errors.ts`, `defaults.ts`), the port interfaces
 *    (`services/ports.ts`) and the packages `xstate` and `zod`.
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
}

const PURE_FOLDERS = ['machines', 'quality', 'prompts'] as const;
const PURE_ROOT_MODULES = new Set(['events.ts', 'errors.ts', 'defaults.ts', 'services/ports.ts']);
const PURE_PACKAGES = new Set(['xstate', 'zod']);
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
  const found: string[] = [];
  const patterns = [
    /(?:^|\n)\s*(?:import|export)\s[^'"]*?\sfrom\s+'([^']+)'/g,
    /(?:^|\n)\s*import\s+'([^']+)'/g,
    /\bimport\(\s*'([^']+)'\s*\)/g,
  ];
  for (const pattern of patterns) for (const match of source.matchAll(pattern)) found.push(match[1]!);
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
    for (const specifier of importsOf(readFileSync(path, 'utf8'))) {
      let target: string | undefined;
      if (specifier.startsWith('.')) {
        const absolute = resolve(dirname(path), specifier).replace(/\.js$/, '.ts');
        const inside = relative(srcDir, absolute);
        if (!inside.startsWith('..')) target = inside.split(sep).join('/');
      }
      edges.push({ from, specifier, target });
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

/** Imports from the pure layers that reach anything but the pure layers, pure modules and pure packages. */
export function impureImports(edges: readonly ImportEdge[]): string[] {
  const pure = (file: string) => PURE_FOLDERS.some((folder) => file.startsWith(`${folder}/`));
  return edges
    .filter(({ from }) => pure(from))
    .filter(({ specifier, target }) =>
      target === undefined ? !PURE_PACKAGES.has(specifier) : !(pure(target) || PURE_ROOT_MODULES.has(target)),
    )
    .map(({ from, specifier }) => `${from} imports ${specifier}`);
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
