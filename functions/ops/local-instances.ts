import fs from 'node:fs';
import path from 'node:path';

export interface FunctionInstance {
  readonly name: string;
  readonly pid: number;
  readonly up: boolean;
}

const isAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
};

/**
 * The serverless-offline instances of the local stack, from the pid files it keeps in
 * `pidDir` (`SHOP_RUN_PIDS_DIR`, set by the stack for its instances). On AWS there is no such
 * folder: Lambda runs as many containers as it needs, and the view says so with null.
 */
export function localInstances(pidDir: string | undefined): FunctionInstance[] | null {
  if (!pidDir || !fs.existsSync(pidDir)) return null;
  return fs
    .readdirSync(pidDir)
    .filter((file) => /^offline-\d+\.pid$/.test(file))
    .map((file) => {
      // "<pid> <start time>" (infra/processes/processes.ts); the pid is what the view shows.
      const [pidText] = fs.readFileSync(path.join(pidDir, file), 'utf8').trim().split(' ');
      const pid = Number(pidText);
      return { name: file.replace(/\.pid$/, ''), pid, up: Number.isInteger(pid) && pid > 0 && isAlive(pid) };
    })
    .sort((a, b) => a.name.localeCompare(b.name, 'en', { numeric: true }));
}
