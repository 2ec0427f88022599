import { spawn, type SpawnOptions } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';

/** Where each instance's event source writes how often it invoked each function. */
export const invocationCountsDir = (runDir: string): string => path.join(runDir, 'invocations');

/**
 * Background processes of the stack, each remembered by a pid file so that stop ends exactly
 * what start started and nothing else.
 */
export class ProcessRegistry {
  constructor(private readonly runDir: string) {
    fs.mkdirSync(this.pidDir, { recursive: true });
    fs.mkdirSync(this.logDir, { recursive: true });
  }

  get pidDir(): string {
    return path.join(this.runDir, 'pids');
  }

  get invocationCountsDir(): string {
    return invocationCountsDir(this.runDir);
  }

  get logDir(): string {
    return path.join(this.runDir, 'logs');
  }

  logFile(name: string): string {
    return path.join(this.logDir, `${name}.log`);
  }

  /** Starts a detached process whose output goes to its log file and records its pid. */
  start(name: string, command: string, args: readonly string[], options: SpawnOptions = {}): number {
    const log = fs.openSync(this.logFile(name), 'a');
    const child = spawn(command, args, { ...options, detached: true, stdio: ['ignore', log, log] });
    fs.closeSync(log);
    if (child.pid === undefined) throw new Error(`${name}: could not start ${command}`);
    child.unref();
    this.remember(name, child.pid);
    return child.pid;
  }

  /**
   * The pid and its process's start time (so that a pid the kernel has since given to another
   * process is never taken for ours), written aside and renamed into place: a reader (the
   * supervisor, every second) never sees it half written.
   */
  remember(name: string, pid: number): void {
    const file = path.join(this.pidDir, `${name}.pid`);
    const startTime = startTimeOf(pid);
    fs.writeFileSync(`${file}.${process.pid}.tmp`, startTime === undefined ? `${pid}\n` : `${pid} ${startTime}\n`);
    fs.renameSync(`${file}.${process.pid}.tmp`, file);
  }

  forget(name: string): void {
    fs.rmSync(path.join(this.pidDir, `${name}.pid`), { force: true });
  }

  /** The recorded pid, unless that pid now belongs to a process started at another time (reused). */
  pidOf(name: string): number | undefined {
    let recorded: string;
    try {
      recorded = fs.readFileSync(path.join(this.pidDir, `${name}.pid`), 'utf8');
    } catch {
      return undefined;
    }
    const { pid, startTime } = parsePidFile(recorded);
    if (pid === undefined) return undefined;
    const now = startTimeOf(pid);
    return startTime === undefined || now === undefined || now === startTime ? pid : undefined;
  }

  /** Names with a pid file whose process is still alive. */
  running(): string[] {
    return fs
      .readdirSync(this.pidDir)
      .filter((file) => file.endsWith('.pid'))
      .map((file) => file.slice(0, -'.pid'.length))
      .filter((name) => isAlive(this.pidOf(name)));
  }

  /**
   * Ends one process (and the group it leads, since every process here is started as a group
   * leader): the signal first, then SIGKILL if it outlives the grace period.
   */
  async stop(name: string, signal: NodeJS.Signals = 'SIGTERM', graceMs = 15_000): Promise<void> {
    const pid = this.pidOf(name);
    if (pid !== undefined && isAlive(pid)) {
      signalGroup(pid, signal);
      const deadline = Date.now() + graceMs;
      while (isAlive(pid) && Date.now() < deadline) await sleep(100);
      if (isAlive(pid)) signalGroup(pid, 'SIGKILL');
      while (isAlive(pid)) await sleep(50);
    }
    this.forget(name);
  }
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      // already gone
    }
  }
}

/** A pid file's text: "<pid> <start time>", or a bare pid as written before start times were. */
export function parsePidFile(text: string): { readonly pid: number | undefined; readonly startTime: string | undefined } {
  const [pidText, startTime] = text.trim().split(' ');
  const pid = Number(pidText);
  return { pid: Number.isInteger(pid) && pid > 0 ? pid : undefined, startTime };
}

/** When the process started, in clock ticks since boot (`/proc/<pid>/stat` field 22); undefined when it is gone. */
export function startTimeOf(pid: number): string | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command (which may hold spaces and parentheses) start at field 3.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[22 - 3];
  } catch {
    return undefined;
  }
}

/** True when a process with that pid exists and is not a zombie waiting to be reaped. */
export function isAlive(pid: number | undefined): boolean {
  if (pid === undefined) return false;
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return true;
  }
}

/** The live children of a process, read from /proc (a server's workers or backends). */
export function childrenOf(pid: number): number[] {
  return fs
    .readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .filter((entry) => {
      try {
        // pid (comm) state ppid …: comm may hold spaces, so read after its closing parenthesis.
        const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
        return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === pid;
      } catch {
        return false;
      }
    })
    .map(Number);
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** True when something accepts TCP connections on 127.0.0.1:port. */
export function portIsOpen(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host });
    socket.setTimeout(1000);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(false));
  });
}

/**
 * Polls `check` until it returns true; throws with `what` and the log's tail when the time runs
 * out or the watched process dies first.
 */
export async function waitFor(
  what: string,
  check: () => Promise<boolean>,
  { timeoutMs = 60_000, pid, log }: { timeoutMs?: number; pid?: number; log?: string } = {},
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check().catch(() => false)) return;
    if (pid !== undefined && !isAlive(pid)) throw new Error(`${what}: the process exited${tail(log)}`);
    await sleep(200);
  }
  throw new Error(`${what}: not ready after ${Math.round(timeoutMs / 1000)} s${tail(log)}`);
}

function tail(log: string | undefined): string {
  if (log === undefined || !fs.existsSync(log)) return '';
  const lines = fs.readFileSync(log, 'utf8').trimEnd().split('\n').slice(-15);
  return ` (see ${log}):\n  ${lines.join('\n  ')}`;
}

/** Runs a command to completion, returning its output; throws with the output when it fails. */
export function run(command: string, args: readonly string[], options: SpawnOptions = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { ...options, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('error', reject);
    child.once('close', (code) => {
      if (code === 0) resolve(output);
      else reject(new Error(`${command} ${args.join(' ')} exited with ${code}:\n${output.trimEnd()}`));
    });
  });
}
