import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { checkArchitecture, importsOf } from '../../scripts/check-architecture.js';

const SRC = fileURLToPath(new URL('../../src', import.meta.url));

const trees: string[] = [];
afterEach(() => {
  for (const dir of trees.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A throwaway `src` tree with the given files. */
function tree(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), 'chimera-architecture-'));
  trees.push(root);
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  return root;
}

describe('the architecture of src', () => {
  it('has no import cycle between folders, pure machines, quality and prompts, and public XState API only', () => {
    expect(checkArchitecture(SRC)).toEqual([]);
  });
});

describe('the architecture check', () => {
  it('finds every kind of import: named, type-only, re-exports, side effects and dynamic ones', () => {
    const source = [
      "import { a } from './a.js';",
      "import type {\n  B,\n  C,\n} from '../b.js';",
      "export { d } from './d.js';",
      "import './e.js';",
      "const f = await import('./f.js');",
    ].join('\n');
    expect(importsOf(source)).toEqual(['./a.js', '../b.js', './d.js', './e.js', './f.js']);
  });

  it('reports a cycle between two folders, through a dynamic import too', () => {
    const src = tree({
      'persistence/writer.ts': "import { relay } from '../outbox/relay.js';\nexport const writer = 1;\n",
      'outbox/relay.ts': "export const relay = async () => import('../persistence/writer.js');\n",
    });
    expect(checkArchitecture(src)).toEqual(['import cycle between folders: outbox <-> persistence']);
  });

  it('reports a resilience folder that imports a concrete adapter which imports resilience back', () => {
    const src = tree({
      'resilience/compose.ts': "import { RedisRateLimiter } from '../services/redis/rate-limiter.js';\n",
      'services/redis/rate-limiter.ts': "import { gcra } from '../../resilience/gcra.js';\n",
      'resilience/gcra.ts': 'export const gcra = 1;\n',
    });
    expect(checkArchitecture(src)).toEqual(['import cycle between folders: resilience <-> services/redis']);
  });

  it('reports a machine, a quality function or a prompt that imports something doing I/O', () => {
    const src = tree({
      'machines/conversation.ts':
        "import { Redis } from 'ioredis';\nimport type { Clock } from '../services/ports.js';\n",
      'quality/score.ts': "import { store } from '../services/redis/snapshot-store.js';\n",
      'prompts/file.ts': "import { readFileSync } from 'node:fs';\nimport { z } from 'zod';\n",
      'services/ports.ts': 'export interface Clock { now(): number }\n',
      'services/redis/snapshot-store.ts': 'export const store = 1;\n',
    });
    expect(checkArchitecture(src)).toEqual([
      'pure layer does I/O: machines/conversation.ts imports ioredis',
      'pure layer does I/O: prompts/file.ts imports node:fs',
      'pure layer does I/O: quality/score.ts imports ../services/redis/snapshot-store.js',
    ]);
  });

  it('follows value imports: a prompt loading a module that reads a file is reported, a type-only import is not', () => {
    const src = tree({
      'prompts/sampling.ts':
        "import { digest } from '../provenance/hash.js';\nimport { VERSION } from '../provenance/version.js';\n",
      'machines/conversation.ts': "import type { Config } from '../provenance/config.js';\n",
      'provenance/hash.ts': "import { createHash } from 'node:crypto';\n",
      'provenance/version.ts': "import { readFileSync } from 'node:fs';\n",
      'provenance/config.ts': "import { readFileSync } from 'node:fs';\n",
    });
    expect(checkArchitecture(src)).toEqual([
      'pure layer does I/O: prompts/sampling.ts imports ../provenance/version.js, which loads node:fs',
    ]);
  });

  it('reports XState internals: _parent, and a logic overridden through Object.create', () => {
    const src = tree({
      'app/runtime.ts': 'const notify = (event, actor) => actor._parent?.send(event);\n',
      'actors/logic.ts': 'const logic = Object.create(machine);\n',
    });
    expect(checkArchitecture(src).sort()).toEqual([
      'XState internals: actors/logic.ts:1: const logic = Object.create(machine);',
      'XState internals: app/runtime.ts:1: const notify = (event, actor) => actor._parent?.send(event);',
    ]);
  });
});
