/**
 * The lock that keeps two callers (the supervisor, a test, the chaos command) from starting the
 * same process at once: a file in the pid directory naming its holder.
 */
import fs from 'node:fs';
import path from 'node:path';
import { isAlive, sleep } from '../processes/processes';

const LOCK_SUFFIX = '.restarting';

/**
 * Runs `body` (a start or restart of process `name`) while no other caller does: a lock file
 * naming its holder, so that a lock left by a process that died (a supervisor stopped mid-restart)
 * is taken over instead of waited on forever. A caller that waited for another's restart of the
 * same process returns without running its own.
 */
export async function exclusively(pidDir: string, name: string, body: () => Promise<void>): Promise<void> {
  const lock = path.join(pidDir, `${name}${LOCK_SUFFIX}`);
  const holderOf = (): number | undefined => {
    try {
      return Number(fs.readFileSync(lock, 'utf8').trim()) || undefined;
    } catch {
      return undefined;
    }
  };
  for (;;) {
    try {
      fs.writeFileSync(lock, `${process.pid}\n`, { flag: 'wx' });
      break;
    } catch {
      const holder = holderOf();
      if (holder !== undefined && !isAlive(holder)) {
        fs.rmSync(lock, { force: true });
        continue;
      }
      while (fs.existsSync(lock) && isAlive(holderOf() ?? process.pid)) await sleep(200);
      if (!fs.existsSync(lock)) return;
    }
  }
  try {
    await body();
  } finally {
    fs.rmSync(lock, { force: true });
  }
}

/** Nothing is restarting before the stack runs: a lock left by an earlier run is stale. */
export function clearRestartLocks(pidDir: string): void {
  for (const file of fs.readdirSync(pidDir)) if (file.endsWith(LOCK_SUFFIX)) fs.rmSync(path.join(pidDir, file), { force: true });
}
