import type postgres from 'postgres';
import { forgetCompleted } from '../../layers/coordinator/transactions';
import { stockLedger } from '../../functions/stock/ledger';
import type { Decide, PrepareStock, Vote } from '../../layers/twopc/messages';
import { applyOnShard } from '../../layers/participant/participant-batch';
import { forgetSettledParticipations } from '../../layers/participant/participation-retention';
import { inRolledBackTransaction } from './support/rolled-back';
import { connectTo } from './support/stack';
import { ownedKeys } from './support/slots';

/**
 * The 2PC log is bounded: finished transactions and their participation records are deleted
 * once past the retention window, and nothing else is; a Prepare redelivered after its record
 * is gone is refused instead of taking stock again. The deletions run in transactions that are
 * rolled back, so the shared stack's data stays as it was.
 */
const HOUR_MS = 3_600_000;
const run = `${process.pid}-${Date.now()}`;

const order = connectTo('order-0');
const stock = connectTo('stock-0');
afterAll(async () => {
  await stock`delete from participations where txn_id like ${`retention-%-${run}`}`;
  await stock`delete from items where item_id like ${`retention-%-${run}%`}`;
  await Promise.all([order.end({ timeout: 5 }), stock.end({ timeout: 5 })]);
});

it('the coordinator deletes the log entries finished before the window, and keeps the rest', async () => {
  const orderId = `retention-order-${run}`;
  await inRolledBackTransaction(order, async (tx) => {
    await tx`
      insert into transactions (txn_id, order_id, state, participants, deadline, decided_at, completed_at) values
        ('old-finished', ${orderId}, 'committed', '{stock-0}', now() - interval '3 hours', now() - interval '3 hours', now() - interval '2 hours'),
        ('new-finished', ${orderId}, 'aborted', '{stock-0}', now(), now(), now()),
        ('old-unacknowledged', ${orderId}, 'committed', '{stock-0}', now() - interval '3 hours', now() - interval '3 hours', null),
        ('old-undecided', ${orderId}, 'preparing', '{stock-0}', now() - interval '3 hours', null, null)`;
    await forgetCompleted(tx as unknown as postgres.Sql, { retentionMs: HOUR_MS, limit: 100_000 });
    const left = await tx<{ txn_id: string }[]>`select txn_id from transactions where order_id = ${`retention-order-${run}`}`;
    expect(left.map((row) => row.txn_id).sort()).toEqual(['new-finished', 'old-unacknowledged', 'old-undecided']);
  });
});

it('a participant deletes the records of transactions it finished before the window, never one holding a reservation', async () => {
  await inRolledBackTransaction(stock, async (tx) => {
    await tx`
      insert into participations (txn_id, state, refusal, updated_at) values
        ('old-committed', 'committed', null, now() - interval '2 hours'),
        ('old-aborted', 'aborted', 'insufficient', now() - interval '2 hours'),
        ('old-prepared', 'prepared', null, now() - interval '2 hours'),
        ('new-committed', 'committed', null, now())`;
    await forgetSettledParticipations(tx as unknown as postgres.Sql, { retentionMs: HOUR_MS, limit: 100_000 });
    const left = await tx<{ txn_id: string }[]>`
      select txn_id from participations where txn_id in ('old-committed', 'old-aborted', 'old-prepared', 'new-committed')`;
    expect(left.map((row) => row.txn_id).sort()).toEqual(['new-committed', 'old-prepared']);
  });
});

it('a Prepare redelivered after its record is gone is past its deadline: refused, and takes nothing', async () => {
  const { keyFor, slotOf } = await ownedKeys(stock);
  const itemId = keyFor(`retention-item-${run}`);
  await stock`insert into items (item_id, price, stock) values (${itemId}, 1, 10)`;
  const prepare = (txnId: string, deadline: number): PrepareStock => ({
    kind: 'prepare',
    txnId,
    orderId: 'o',
    participant: 'stock-0',
    deadline,
    items: [{ itemId, quantity: 4 }],
  });

  const redelivered = await applyOnShard(stock, {
    instructions: [prepare(`retention-late-${run}`, Date.now() - HOUR_MS)],
    newLedger: stockLedger,
    slotOf,
  });
  const timely = await applyOnShard(stock, {
    instructions: [prepare(`retention-timely-${run}`, Date.now() + 5_000)],
    newLedger: stockLedger,
    slotOf,
  });

  expect(redelivered.replies).toEqual([
    expect.objectContaining({ vote: 'no', refusal: 'rolled_back', detail: expect.stringMatching(/after its transaction's deadline/) }),
  ]);
  expect((timely.replies[0] as Vote).vote).toBe('yes');
  const [item] = await stock<
    { stock: number; held: number }[]
  >`select stock::int as stock, held::int as held from items where item_id = ${itemId}`;
  expect(item).toEqual({ stock: 6, held: 4 });
  // What the late one left is a plain abort mark; the timely one's reservation is given back by hand.
  await stock`update items set stock = 10, held = 0 where item_id = ${itemId}`;
});

it('a Commit resent after retention deleted its record is acknowledged, taking nothing again', async () => {
  const { keyFor, slotOf } = await ownedKeys(stock);
  const itemId = keyFor(`retention-resent-${run}`);
  await stock`insert into items (item_id, price, stock) values (${itemId}, 1, 10)`;
  const txnId = `retention-resent-${run}`;
  const apply = (instruction: PrepareStock | Decide) =>
    applyOnShard(stock, { instructions: [instruction], newLedger: stockLedger, slotOf });
  const commit: Decide = { kind: 'commit', txnId, orderId: 'o', participant: 'stock-0' };
  await apply({
    kind: 'prepare',
    txnId,
    orderId: 'o',
    participant: 'stock-0',
    deadline: Date.now() + 5_000,
    items: [{ itemId, quantity: 3 }],
  });
  await apply(commit);
  // What retention does once the window has passed (its acknowledgement was lost, so the resolver resends the decision).
  await stock`delete from participations where txn_id = ${txnId}`;

  const resent = await apply(commit);

  expect(resent).toEqual({ replies: [{ kind: 'ack', txnId, orderId: 'o', participant: 'stock-0', decision: 'commit' }], violations: [] });
  const [item] = await stock<
    { stock: number; held: number }[]
  >`select stock::int as stock, held::int as held from items where item_id = ${itemId}`;
  expect(item).toEqual({ stock: 7, held: 0 });
});
