import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '../../..');
const TSX = path.join(ROOT, 'node_modules/tsx/dist/cli.mjs');

/** A run of `npm run shards -- <args>`: its process, its exit code once it ends, and all it printed. */
export interface ShardsRun {
  readonly child: ChildProcess;
  readonly exited: Promise<number | null>;
  output(): string;
}

/** `npm run shards -- <args>` as a process group of its own, so that a kill reaches tsx's child too. */
export function shards(...args: string[]): ShardsRun {
  const child = spawn(process.execPath, [TSX, 'infra/shards/cli.ts', ...args], {
    cwd: ROOT,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (chunk) => (output += chunk));
  child.stderr!.on('data', (chunk) => (output += chunk));
  return { child, exited: new Promise((resolve) => child.on('exit', (code) => resolve(code))), output: () => output };
}

/** Runs `npm run shards -- <args>` to its end; throws with what it printed unless it succeeded. */
export async function toTheEnd(...args: string[]): Promise<string> {
  const run = shards(...args);
  const code = await run.exited;
  if (code !== 0) throw new Error(`npm run shards -- ${args.join(' ')} failed (${code}): ${run.output()}`);
  return run.output();
}

/** Runs `npm run shards -- <args>` and kills its process group after `ms` (unless it ended before). */
export async function killedAfter(ms: number, ...args: string[]): Promise<void> {
  const run = shards(...args);
  await Promise.race([run.exited, new Promise((resolve) => setTimeout(resolve, ms))]);
  try {
    process.kill(-run.child.pid!, 'SIGKILL');
  } catch {
    // It finished before the kill.
  }
  await run.exited;
}
