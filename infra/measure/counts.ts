/**
 * What a checkout costs in counts no machine changes (issue: the quiet checkout's cost): Kafka
 * records produced, PostgreSQL write transactions by the role of their server, and the wake-ups
 * (voluntary context switches) of the stack's processes. Read before and after a bench run; the
 * differences, per committed checkout, go beside its CPU figures.
 */
import fs from 'node:fs';
import { Kafka, logLevel } from 'kafkajs';
import postgres from 'postgres';
import { databaseServers, type StackConfig, stackAddresses } from '../config';
import { readCredentials } from '../postgres/server';
import { loginOf } from '../../layers/db/login';
import { TOPICS } from '../../layers/kafka/topics';
import { type Component, stackProcesses } from './cpu';
import { readInvocationCounts } from '../offline-kafka/invocation-counts';
import { invocationCountsDir } from '../processes/processes';

export interface StackCounts {
  /** records on the shop's topics (their partitions' end offsets, summed) */
  readonly kafkaRecords: number;
  /** transaction ids handed out (write transactions), by the service of the server */
  readonly writeTransactions: Readonly<Record<string, number>>;
  /** voluntary context switches of every thread of the stack's process trees, by component */
  readonly wakeUps: Partial<Record<Component, number>>;
  /**
   * the event source's invocations, by function, as the instances last wrote them (half a second
   * after a change): both readings lag alike, so a steady run's difference is the same
   */
  readonly invocations: Readonly<Record<string, number>>;
}

async function kafkaRecords(config: StackConfig): Promise<number> {
  const admin = new Kafka({
    clientId: 'bench-counts',
    brokers: stackAddresses(config).kafkaBootstrap.split(','),
    logLevel: logLevel.NOTHING,
  }).admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    let records = 0;
    for (const topic of Object.values(TOPICS).filter((name) => existing.has(name))) {
      for (const { high } of await admin.fetchTopicOffsets(topic)) records += Number(high);
    }
    return records;
  } finally {
    await admin.disconnect();
  }
}

/**
 * The next transaction id of each server, which only a write transaction takes (read from the
 * snapshot, so reading it takes none): exact at once, where pg_stat_database's counters lag by
 * up to seconds. Counted per server, so every database on it.
 */
async function writeTransactions(config: StackConfig): Promise<Record<string, number>> {
  const byService: Record<string, number> = {};
  for (const server of databaseServers(config).filter((candidate) => candidate.service !== 'probe')) {
    const sql = postgres({ ...loginOf(readCredentials(config.dataDir, server), 'postgres'), max: 1, onnotice: () => undefined });
    try {
      const [row] = await sql<{ next: string }[]>`select pg_snapshot_xmax(pg_current_snapshot())::text as next`;
      byService[server.service] = (byService[server.service] ?? 0) + Number(row!.next);
    } finally {
      await sql.end({ timeout: 2 });
    }
  }
  return byService;
}

const numberAfter = (text: string, label: string) => Number(new RegExp(`^${label}:\\s+(\\d+)`, 'm').exec(text)?.[1] ?? 0);

/** Voluntary context switches (a thread went to sleep, to be woken later) of every thread of the stack. */
function wakeUps(runDir: string): Partial<Record<Component, number>> {
  const byComponent: Partial<Record<Component, number>> = {};
  for (const [pid, component] of stackProcesses(runDir)) {
    let threads: string[];
    try {
      threads = fs.readdirSync(`/proc/${pid}/task`);
    } catch {
      continue;
    }
    for (const thread of threads) {
      try {
        const status = fs.readFileSync(`/proc/${pid}/task/${thread}/status`, 'utf8');
        byComponent[component] = (byComponent[component] ?? 0) + numberAfter(status, 'voluntary_ctxt_switches');
      } catch {
        // A thread that ended: its switches are gone with it (a pool keeps its threads and backends).
      }
    }
  }
  return byComponent;
}

export async function readCounts(config: StackConfig, runDir: string): Promise<StackCounts> {
  const [records, transactions] = await Promise.all([kafkaRecords(config), writeTransactions(config)]);
  return {
    kafkaRecords: records,
    writeTransactions: transactions,
    wakeUps: wakeUps(runDir),
    invocations: readInvocationCounts(invocationCountsDir(runDir)),
  };
}

const sum = (perCheckout: Record<string, number>) =>
  Number(
    Object.values(perCheckout)
      .reduce((total, value) => total + value, 0)
      .toFixed(2),
  );

/** The counts between two readings, per committed checkout, rounded to what the figures can tell. */
export function countsPerCheckout(before: StackCounts, after: StackCounts, committed: number) {
  const per = (delta: number) => Number((committed > 0 ? delta / committed : Number.NaN).toFixed(2));
  const differences = <K extends string>(from: Partial<Record<K, number>>, to: Partial<Record<K, number>>) =>
    Object.fromEntries(
      Object.entries(to).map(([key, value]) => [key, per((value as number) - ((from as Record<string, number>)[key] ?? 0))]),
    );
  const wakeUps = differences(before.wakeUps, after.wakeUps);
  // Function names carry the service and stage (shop-local-orderResults): the last part says which.
  const shortNames = (counts: Readonly<Record<string, number>>) =>
    Object.fromEntries(Object.entries(counts).map(([name, count]) => [name.slice(name.lastIndexOf('-') + 1), count]));
  const invocations = differences(shortNames(before.invocations), shortNames(after.invocations));
  return {
    kafkaRecords: per(after.kafkaRecords - before.kafkaRecords),
    writeTransactions: differences(before.writeTransactions, after.writeTransactions),
    invocations: { all: sum(invocations), ...invocations },
    wakeUps: { all: sum(wakeUps), ...wakeUps },
  };
}
