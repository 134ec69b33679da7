#!/usr/bin/env node
// The `chimera` command. A built package runs the compiled CLI (dist/cli/main.js); a checkout without a
// build runs the TypeScript source through tsx (a development dependency), so `npx chimera` works in both.
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const built = `${root}dist/cli/main.js`;

if (existsSync(built)) {
  await import(pathToFileURL(built).href);
} else {
  let register;
  try {
    ({ register } = await import('tsx/esm/api'));
  } catch {
    process.stderr.write(
      'chimera: no build found (dist/cli/main.js) and tsx is not installed; run `npm run build`\n',
    );
    process.exit(1);
  }
  register();
  await import(pathToFileURL(`${root}src/cli/main.ts`).href);
}
