import postgres from 'postgres';
import { databaseServers, type StackConfig } from '../config';
import { readCredentials } from '../postgres/server';
import { loginOf } from '../../layers/db/login';
import { logRetentionMs } from '../../layers/config/retention';

/**
 * Every shard of the local stack, those `npm run shards` added too (a database `<service>_<n>`
 * on one of its service's servers); a retired shard's database is gone, so it is not among them.
 */
export async function connectLiveShards(config: StackConfig): Promise<Map<string, postgres.Sql>> {
  const shards = new Map<string, postgres.Sql>();
  for (const server of databaseServers(config).filter((candidate) => candidate.service !== 'probe')) {
    const login = readCredentials(config.dataDir, server);
    const connect = (database: string) => postgres({ ...loginOf(login, database), max: 2, onnotice: () => undefined });
    const admin = connect('postgres');
    try {
      const pattern = `^${server.service}_[0-9]+$`;
      for (const { datname } of await admin<
        { datname: string }[]
      >`select datname from pg_database where datname ~ ${pattern} order by datname`) {
        shards.set(datname.replace('_', '-'), connect(datname));
      }
    } finally {
      await admin.end({ timeout: 5 });
    }
  }
  return shards;
}

export async function closeShards(shards: Map<string, postgres.Sql>): Promise<void> {
  await Promise.all([...shards.values()].map((sql) => sql.end({ timeout: 5 })));
}

const byPrefix = (shards: Map<string, postgres.Sql>, prefix: string) => [...shards].filter(([name]) => name.startsWith(prefix));

/**
 * When the first checkout after `since` committed on `shard` (e.g. "stock-0"), in ms since the
 * epoch: on an order shard its decision, on a participant shard the commit applied there (which
 * follows the decision). Undefined if none has yet. Every clock here is the machine's own.
 */
export async function firstCommitAfter(shards: Map<string, postgres.Sql>, shard: string, since: number): Promise<number | undefined> {
  const sql = shards.get(shard);
  if (sql === undefined) throw new Error(`no live shard ${shard}`);
  const after = new Date(since);
  const [{ first }] = shard.startsWith('order-')
    ? await sql<
        [{ first: Date | null }]
      >`select min(decided_at) as first from transactions where state = 'committed' and decided_at > ${after}`
    : await sql<
        [{ first: Date | null }]
      >`select min(updated_at) as first from participations where state = 'committed' and updated_at > ${after}`;
  return first === null ? undefined : first.getTime();
}

/** Which orders' transactions count: all, or those of orders created through the API (not batch_init's "0" … "n-1"). */
export type OrdersCounted = 'all' | 'created';

/** Transactions not yet decided and acknowledged by every participant, over all order shards. */
export async function unfinishedTransactions(shards: Map<string, postgres.Sql>, orders: OrdersCounted = 'all'): Promise<number> {
  let count = 0;
  for (const [, sql] of byPrefix(shards, 'order-')) {
    const created = orders === 'created' ? sql`and order_id !~ '^[0-9]+$'` : sql``;
    count += (await sql<[{ n: number }]>`select count(*)::int as n from transactions where completed_at is null ${created}`)[0].n;
  }
  return count;
}

/** Waits until every transaction (of `orders`) is finished or `timeoutMs` passes; returns how many are left. */
export async function waitUntilFinished(
  shards: Map<string, postgres.Sql>,
  timeoutMs: number,
  orders: OrdersCounted = 'all',
): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  let unfinished = await unfinishedTransactions(shards, orders);
  while (unfinished > 0 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 500));
    unfinished = await unfinishedTransactions(shards, orders);
  }
  return unfinished;
}

/**
 * What must hold in the data of every shard once all transactions are finished, checked
 * directly in the databases rather than through the API. Returns the violations, named.
 * Orders "0" … "n-1" are left out of the order checks: batch_init overwrites them by contract.
 */
export async function verifyShards(shards: Map<string, postgres.Sql>, timeoutMs: number): Promise<string[]> {
  const violations: string[] = [];
  const recentEnoughMs = logRetentionMs({ LOG_RETENTION_S: process.env.SHOP_LOG_RETENTION_S }) - 300_000;
  const committedTxns = new Set<string>();
  const decidedTxns = new Set<string>();
  for (const [name, sql] of byPrefix(shards, 'order-')) {
    const [late] = await sql<[{ n: number }]>`
      select count(*)::int as n from transactions where state = 'preparing' and deadline < now() - ${timeoutMs} * interval '1 millisecond'`;
    if (late!.n > 0) violations.push(`${name}: ${late!.n} transactions undecided longer than the timeout after their deadline`);
    // An order whose transactions are all past the retention window has nothing left to check against.
    const paidWithoutCommit = await sql<{ order_id: string }[]>`
      select o.order_id from orders o where o.paid
        and exists (select 1 from transactions t where t.order_id = o.order_id)
        and not exists (select 1 from transactions t where t.order_id = o.order_id and t.state = 'committed')
        and o.order_id !~ '^[0-9]+$' limit 5`;
    for (const { order_id } of paidWithoutCommit) violations.push(`${name}: order ${order_id} is paid but no transaction of it committed`);
    const commitWithoutPaid = await sql<{ order_id: string }[]>`
      select t.order_id from transactions t join orders o using (order_id)
      where t.state = 'committed' and not o.paid and o.order_id !~ '^[0-9]+$' limit 5`;
    for (const { order_id } of commitWithoutPaid) violations.push(`${name}: order ${order_id} committed but is not paid`);
    const twice = await sql<{ order_id: string }[]>`
      select order_id from transactions where state = 'committed' and order_id !~ '^[0-9]+$'
      group by order_id having count(*) > 1 limit 5`;
    for (const { order_id } of twice) violations.push(`${name}: order ${order_id} was committed more than once`);
    for (const row of await sql<{ txn_id: string; state: string }[]>`select txn_id, state from transactions where state <> 'preparing'`) {
      decidedTxns.add(row.txn_id);
      if (row.state === 'committed') committedTxns.add(row.txn_id);
    }
  }
  for (const [name, sql] of [...byPrefix(shards, 'stock-'), ...byPrefix(shards, 'payment-')]) {
    const [table, column, idColumn] = name.startsWith('stock-') ? ['items', 'stock', 'item_id'] : ['users', 'credit', 'user_id'];
    const [negative] = await sql<[{ n: number }]>`select count(*)::int as n from ${sql(table)} where ${sql(column)} < 0`;
    if (negative!.n > 0) violations.push(`${name}: ${negative!.n} rows with negative ${column}`);
    const reserved = name.startsWith('stock-')
      ? sql`select line ->> 'itemId' as id, sum((line ->> 'quantity')::bigint) as amount
            from participations, jsonb_array_elements(held) as line where state = 'prepared' group by 1`
      : sql`select held ->> 'userId' as id, sum((held ->> 'amount')::bigint) as amount
            from participations where state = 'prepared' group by 1`;
    const [disagreeing] = await sql<[{ n: number }]>`
      select count(*)::int as n from ${sql(table)} b full join (${reserved}) r on r.id = b.${sql(idColumn)}
      where coalesce(b.held, 0) <> coalesce(r.amount, 0)`;
    if (disagreeing!.n > 0)
      violations.push(`${name}: ${disagreeing!.n} rows whose held ${column} is not what their prepared transactions hold`);
    // Records near the end of the retention window may outlive their coordinator's entry by a run of the clean-up.
    for (const row of await sql<{ txn_id: string; state: string }[]>`
      select txn_id, state from participations
      where state = 'prepared' or updated_at > now() - ${recentEnoughMs} * interval '1 millisecond'`) {
      if (row.state === 'prepared' && decidedTxns.has(row.txn_id)) {
        violations.push(`${name}: transaction ${row.txn_id} is decided but still holds a reservation here`);
      }
      if (row.state === 'committed' && !committedTxns.has(row.txn_id)) {
        violations.push(`${name}: transaction ${row.txn_id} committed here but not at its coordinator`);
      }
      if (row.state === 'aborted' && committedTxns.has(row.txn_id)) {
        violations.push(`${name}: transaction ${row.txn_id} aborted here but committed at its coordinator`);
      }
    }
  }
  return violations;
}
