import type postgres from 'postgres';
import { stockLedger } from '../../functions/stock/ledger';
import type { Decide, Instruction, PrepareStock, Vote } from '../../layers/twopc/messages';
import { applyOnShard, ConcurrentBatchError, type ShardOutcome } from '../../layers/participant/participant-batch';
import { eventually } from './support/eventually';
import { ownedKeys } from './support/slots';
import { connectTo } from './support/stack';

/**
 * Two batches holding the same transaction at once: two consumers of one partition after a
 * rebalance while the old one still runs, or a redelivery beside a frozen instance. Each case
 * makes the interleaving certain: a third connection locks the item, both batches read that no
 * record exists and then wait on the item's lock, and only then is the lock let go.
 */
const SHARD = 'stock-0';
const run = `${process.pid}-${Date.now()}`;
let itemId: string;
let slotOf: (key: string) => number;

const first = connectTo(SHARD);
const second = connectTo(SHARD);
const holder = connectTo(SHARD);
const observer = connectTo(SHARD);

// What these transactions leave has no coordinator behind it; the shard checks of later suites would flag it.
afterAll(async () => {
  await observer`delete from participations where txn_id like ${`race-%-${run}`}`;
  await observer`delete from items where item_id = ${itemId}`;
  await Promise.all([first, second, holder, observer].map((sql) => sql.end({ timeout: 5 })));
});

beforeAll(async () => {
  const owned = await ownedKeys(observer);
  itemId = owned.keyFor(`race-item-${run}`);
  slotOf = owned.slotOf;
});

beforeEach(async () => {
  await observer`insert into items (item_id, price, stock) values (${itemId}, 1, 10)
                 on conflict (item_id) do update set stock = 10`;
});

const prepare = (txnId: string): PrepareStock => ({
  kind: 'prepare',
  txnId,
  orderId: `race-order-${run}`,
  participant: SHARD,
  deadline: Date.now() + 60_000,
  items: [{ itemId, quantity: 3 }],
});

const rollback = (txnId: string): Decide => ({ kind: 'rollback', txnId, orderId: `race-order-${run}`, participant: SHARD });

const apply = (sql: postgres.Sql, instruction: Instruction) =>
  applyOnShard(sql, { instructions: [instruction], newLedger: stockLedger, slotOf });

/**
 * Runs `blocked` while `lock` holds a row elsewhere; once `waiters` sessions wait on a lock in a
 * statement reading `table`, runs `meanwhile`, then lets the row go.
 */
async function whileLocked<T>(
  lock: (tx: postgres.TransactionSql) => Promise<unknown>,
  waiting: { table: string; waiters: number },
  blocked: () => Promise<T>,
  meanwhile: () => Promise<unknown> = async () => undefined,
): Promise<T> {
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  let locked!: () => void;
  const isLocked = new Promise<void>((resolve) => (locked = resolve));
  const holding = holder.begin(async (tx) => {
    await lock(tx);
    locked();
    await released;
  });
  await isLocked;
  const outcome = blocked();
  await eventually(`${waiting.waiters} batches waiting on ${waiting.table}`, async () => {
    const [row] = await observer<{ waiting: number }[]>`
      select count(*)::int as waiting from pg_stat_activity
      where datname = current_database() and wait_event_type = 'Lock' and query like ${`%from ${waiting.table}%`}`;
    return row!.waiting >= waiting.waiters ? true : undefined;
  });
  await meanwhile();
  release();
  await holding;
  return outcome;
}

async function stockOf(): Promise<number> {
  const [row] = await observer<{ stock: number }[]>`select stock::int as stock from items where item_id = ${itemId}`;
  return row!.stock;
}

async function recordOf(txnId: string) {
  const [row] = await observer<{ state: string; held: unknown }[]>`select state, held from participations where txn_id = ${txnId}`;
  return row;
}

const votes = (outcome: ShardOutcome) => outcome.replies.map((reply) => (reply as Vote).vote);

describe('two batches holding the same transaction at once', () => {
  it('a Prepare delivered twice at once takes the stock once: the second copy waits on the item, then finds the first one’s record', async () => {
    const txnId = `race-prepare-${run}`;
    const outcomes = await whileLocked(
      (tx) => tx`select 1 from items where item_id = ${itemId} for update`,
      { table: 'items', waiters: 2 },
      () => Promise.all([apply(first, prepare(txnId)), apply(second, prepare(txnId))]),
    );

    expect(outcomes.map(votes)).toEqual([['yes'], ['yes']]);
    expect(await stockOf()).toBe(7);
    expect(await recordOf(txnId)).toEqual({ state: 'prepared', held: [{ itemId, quantity: 3 }] });
  });

  it('a Rollback that lands while a Prepare’s batch is reading leaves nothing held: that batch fails whole, and its retry votes no', async () => {
    const txnId = `race-a-${run}`;
    // An earlier transaction of the same batch whose record is locked elsewhere holds the
    // Prepare's batch after it has read that no record of `txnId` exists.
    const earlier = `race-b-${run}`;
    await observer`insert into participations (txn_id, state) values (${earlier}, 'committed')`;
    const commitEarlier: Instruction = { kind: 'commit', txnId: earlier, orderId: `race-order-${run}`, participant: SHARD };
    const batch = (): Promise<ShardOutcome> =>
      applyOnShard(first, { instructions: [prepare(txnId), commitEarlier], newLedger: stockLedger, slotOf });

    let rolledBack: ShardOutcome | undefined;
    const [prepared] = await whileLocked(
      (tx) => tx`select 1 from participations where txn_id = ${earlier} for update`,
      { table: 'participations', waiters: 1 },
      () => Promise.allSettled([batch()]),
      async () => (rolledBack = await apply(second, rollback(txnId))),
    );

    expect(rolledBack!.replies).toEqual([expect.objectContaining({ kind: 'ack', decision: 'rollback' })]);
    expect(prepared!.status).toBe('rejected');
    expect((prepared as PromiseRejectedResult).reason).toBeInstanceOf(ConcurrentBatchError);
    expect(await stockOf()).toBe(10);
    expect(await recordOf(txnId)).toEqual({ state: 'aborted', held: [] });

    const retried = await batch();
    expect(retried.replies).toEqual([
      expect.objectContaining({ kind: 'vote', txnId, vote: 'no' }),
      expect.objectContaining({ kind: 'ack', txnId: earlier, decision: 'commit' }),
    ]);
    expect(await stockOf()).toBe(10);
  });
});
