// The dashboard's and viewer's pages are plain files, not TypeScript: the build copies them next to the
// compiled server (dist/ui/public), where it looks for them when installed from the package.
import { cpSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
cpSync(join(root, 'src/ui/public'), join(root, 'dist/ui/public'), { recursive: true });
