import fs from 'node:fs';
import path from 'node:path';
import { parsePidFile } from '../processes/processes';

/**
 * CPU time of the local stack's processes, by component, read from /proc. A component is every
 * process the stack started under a name (`.run/pids/<name>.pid`) and all their descendants:
 * PostgreSQL's backends are children of its postmaster, NGINX's workers of its master. A child
 * that exits is counted in its parent's cutime/cstime once reaped, so the sum over a tree only
 * grows, and the difference of two readings is what the tree spent between them.
 */

/** Clock ticks per second of /proc's times: 100 on every Linux this runs on (USER_HZ). */
const TICKS_PER_SECOND = 100;

/** What the stack's process names are grouped into, in the order they are printed. */
export const COMPONENTS = ['PostgreSQL', 'functions', 'Kafka', 'NGINX', 'moto', 'supervisor'] as const;
export type Component = (typeof COMPONENTS)[number];

export function componentOf(processName: string): Component | undefined {
  if (processName.startsWith('postgres-')) return 'PostgreSQL';
  if (processName.startsWith('offline-')) return 'functions';
  if (/^kafka(-\d+)?$/.test(processName)) return 'Kafka';
  if (processName === 'nginx') return 'NGINX';
  if (processName === 'secrets-manager') return 'moto';
  if (processName === 'supervisor') return 'supervisor';
  return undefined;
}

interface ProcStat {
  readonly pid: number;
  readonly parent: number;
  /** utime + stime + cutime + cstime, in ticks */
  readonly ticks: number;
}

/** Parses /proc/<pid>/stat; the command name may hold spaces and parentheses, so it is skipped by its last ')'. */
export function parseProcStat(text: string): ProcStat {
  const pid = Number(text.slice(0, text.indexOf(' ')));
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  // After the name: state(0) ppid(1) ... utime(11) stime(12) cutime(13) cstime(14).
  const number = (index: number) => Number(fields[index]);
  return { pid, parent: number(1), ticks: number(11) + number(12) + number(13) + number(14) };
}

function readAllStats(): ProcStat[] {
  const stats: ProcStat[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      stats.push(parseProcStat(fs.readFileSync(`/proc/${entry}/stat`, 'utf8')));
    } catch {
      // Gone between the listing and the read.
    }
  }
  return stats;
}

/** Whole machine: busy and total ticks over all cores, from the first line of /proc/stat. */
function machineTicks(): { busy: number; total: number } {
  const [, ...values] = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/);
  const ticks = values.map(Number);
  const total = ticks.reduce((sum, value) => sum + value, 0);
  const idle = (ticks[3] ?? 0) + (ticks[4] ?? 0);
  return { busy: total - idle, total };
}

export interface CpuReading {
  readonly byComponent: Partial<Record<Component, number>>;
  readonly machineBusy: number;
  readonly machineTotal: number;
}

/** The processes the stack recorded (`<runDir>/pids`), each with its component; empty when they are not here (another stack). */
export function stackRoots(runDir: string): Map<number, Component> {
  const pidDir = path.join(runDir, 'pids');
  const roots = new Map<number, Component>();
  if (!fs.existsSync(pidDir)) return roots;
  // Only pid files: a restart's lock names its holder, and a pid file being written has another name.
  for (const file of fs.readdirSync(pidDir).filter((name) => name.endsWith('.pid'))) {
    const component = componentOf(file.replace(/\.pid$/, ''));
    const { pid } = parsePidFile(fs.readFileSync(path.join(pidDir, file), 'utf8'));
    if (component && pid !== undefined) roots.set(pid, component);
  }
  return roots;
}

/** Each of `stats`' processes that descends from one of `roots`, with that root's component. */
function componentsOf(roots: ReadonlyMap<number, Component>, stats: readonly ProcStat[]): Map<number, Component> {
  const parentOf = new Map(stats.map((stat) => [stat.pid, stat.parent]));
  const members = new Map<number, Component>();
  for (const { pid } of stats) {
    for (let current: number | undefined = pid; current !== undefined && current > 1; current = parentOf.get(current)) {
      const component = roots.get(current);
      if (component) {
        members.set(pid, component);
        break;
      }
    }
  }
  return members;
}

/** Every process under a pid the stack recorded (`<runDir>/pids`), with the component it belongs to. */
export function stackProcesses(runDir: string): Map<number, Component> {
  return componentsOf(stackRoots(runDir), readAllStats());
}

/** One reading of the stack's process trees, in ticks; empty when the stack's pid files are not here (another stack). */
export function readStackCpu(runDir: string): CpuReading {
  const stats = readAllStats();
  const members = componentsOf(stackRoots(runDir), stats);
  const byComponent: Partial<Record<Component, number>> = {};
  for (const stat of stats) {
    const component = members.get(stat.pid);
    if (component) byComponent[component] = (byComponent[component] ?? 0) + stat.ticks;
  }
  const machine = machineTicks();
  return { byComponent, machineBusy: machine.busy, machineTotal: machine.total };
}

/** CPU milliseconds each component spent between two readings; `other` is the rest of the machine's busy time. */
export function cpuMsBetween(before: CpuReading, after: CpuReading, generatorMs: number): Record<string, number> {
  const ms = (ticks: number) => (ticks * 1000) / TICKS_PER_SECOND;
  const spent: Record<string, number> = {};
  let stack = 0;
  for (const component of COMPONENTS) {
    const delta = (after.byComponent[component] ?? 0) - (before.byComponent[component] ?? 0);
    if (after.byComponent[component] === undefined) continue;
    spent[component] = ms(delta);
    stack += ms(delta);
  }
  spent['load generator'] = generatorMs;
  spent.other = Math.max(0, ms(after.machineBusy - before.machineBusy) - stack - generatorMs);
  return spent;
}
