/**
 * One process at a time per journal directory: a `LOCK` file created exclusively, naming its owner. A lock
 * left by a process that is gone (killed, or before a reboot: the boot id differs) is taken over; a live
 * owner's lock is refused with its pid, so two `generate` runs cannot write the same journal.
 */
import { readFileSync } from 'node:fs';
import { open, readFile, unlink } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { ChimeraError } from '../../errors.js';

interface LockOwner {
  pid: number;
  host: string;
  bootId: string;
  startedAt: number;
}

function bootId(): string {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  } catch {
    return 'unknown';
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export interface DirectoryLock {
  release(): Promise<void>;
}

/**
 * Takes the directory's lock.
 * @throws {ChimeraError} `closed` when a live process holds it.
 */
export async function lockDirectory(dir: string): Promise<DirectoryLock> {
  const path = join(dir, 'LOCK');
  const me: LockOwner = { pid: process.pid, host: hostname(), bootId: bootId(), startedAt: Date.now() };
  for (let attempt = 0; attempt < 3; attempt += 1) {
    try {
      const handle = await open(path, 'wx');
      await handle.writeFile(JSON.stringify(me));
      await handle.sync();
      await handle.close();
      return {
        release: async () => {
          await unlink(path).catch(() => {});
        },
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    let owner: Partial<LockOwner> = {};
    try {
      owner = JSON.parse(await readFile(path, 'utf8')) as Partial<LockOwner>;
    } catch {
      // An empty or torn lock file: its writer died while writing it.
    }
    const stale =
      typeof owner.pid !== 'number' ||
      (owner.host === me.host && (owner.bootId !== me.bootId || !alive(owner.pid)));
    if (!stale) {
      throw new ChimeraError(
        'closed',
        `journal ${dir} is in use by process ${owner.pid} on ${owner.host}; stop it first (or remove ${path} if it is gone)`,
      );
    }
    await unlink(path).catch(() => {});
  }
  throw new ChimeraError('closed', `could not take the lock of journal ${dir}`);
}
