import type postgres from 'postgres';
import { absorbCheckoutStats, readCheckoutStats } from '../../layers/coordinator/checkout-stats';
import { readOwnedSlots } from '../../layers/db/owned-slots';
import { moveSlot, resumeMoves } from '../../layers/resharding/slot-move';
import { scratchShards } from './support/scratch-shards';

/**
 * An order slot moves with its orders and their 2PC log entries, exactly as they were, and only
 * once every transaction in it is decided and acknowledged by every participant. Two scratch
 * databases of the order schema on the stack's order-0 server stand for the source (shard 0) and
 * the target (2).
 */
const SLOT = 4;
const shards = scratchShards('order');
const { startMap, published } = shards;
const context = () => shards.context();
let source: postgres.Sql;
let target: postgres.Sql;

beforeEach(async () => {
  shards.reset();
  ({ source, target } = shards);
  for (const sql of [source, target]) await sql`truncate orders, transactions, owned_slots`;
  await source`insert into owned_slots (slot, state, since_version) values (${SLOT}, 'owned', 1)`;
  await source`
    insert into orders (order_id, user_id, paid, total_cost, items, checkout_txn, slot) values
      ('paid-one', 'u1', true, 6, '{"i1": 2, "i2": 1}', null, ${SLOT}),
      ('refused-one', 'u2', false, 3, '{"i1": 1}', null, ${SLOT})`;
  await source`
    insert into transactions (txn_id, order_id, state, participants, yes, acked, abort_reason, abort_detail, deadline, decided_at, completed_at, slot) values
      ('t-paid', 'paid-one', 'committed', '{stock-1,payment-0}', '{stock-1,payment-0}', '{stock-1,payment-0}', null, null,
       now() + interval '1 minute', now(), now(), ${SLOT}),
      ('t-refused', 'refused-one', 'aborted', '{stock-1,payment-1}', '{stock-1}', '{stock-1,payment-1}', 'insufficient_credit', 'has 1, fewer than the 3 asked for',
       now() + interval '1 minute', now(), now(), ${SLOT})`;
});

/** Every column of the slot's orders and transactions, as the shard holds them. */
async function slotRows(sql: postgres.Sql): Promise<unknown> {
  return {
    orders: await sql`select * from orders where slot = ${SLOT} order by order_id`,
    transactions: await sql`select * from transactions where slot = ${SLOT} order by txn_id`,
  };
}

it('moves an order slot with its orders and their 2PC log entries, column for column, leaving nothing behind', async () => {
  const before = await slotRows(source);
  const result = await moveSlot(context(), startMap, { slot: SLOT, from: 0, to: 2 });
  expect(result).toMatchObject({ moved: true });
  expect(await slotRows(target)).toEqual(before);
  expect(await slotRows(source)).toEqual({ orders: [], transactions: [] });
  expect((await readOwnedSlots(target)).get(SLOT)?.state).toBe('owned');
  expect((await readOwnedSlots(source)).get(SLOT)).toBeUndefined();
});

it('keeps a slot on its source while one of its transactions is not acknowledged by every participant, and moves it once it is', async () => {
  await source`update transactions set acked = '{stock-1}', completed_at = null where txn_id = 't-paid'`;
  const refused = await moveSlot(context(), startMap, { slot: SLOT, from: 0, to: 2 });
  expect(refused).toEqual({
    moved: false,
    reason: `slot ${SLOT} still holds transactions not yet acknowledged by every participant after 200 ms`,
  });
  expect((await readOwnedSlots(source)).get(SLOT)?.state).toBe('owned');
  expect(published).toEqual([]);

  await source`update transactions set acked = participants, completed_at = now() where txn_id = 't-paid'`;
  expect(await moveSlot(context(), startMap, { slot: SLOT, from: 0, to: 2 })).toMatchObject({ moved: true });
  expect(((await slotRows(target)) as { transactions: unknown[] }).transactions).toHaveLength(2);
});

it('a move cut after its copy is resumed to the target, with the log entries there once', async () => {
  await source`update owned_slots set state = 'fenced' where slot = ${SLOT}`;
  await target`insert into owned_slots (slot, state, since_version) values (${SLOT}, 'incoming', 2)`;
  await target`insert into orders (order_id, user_id, slot) values ('paid-one', 'u1', ${SLOT})`; // half a copy: redone from the source
  const before = await slotRows(source);
  await resumeMoves(context(), startMap);
  expect(await slotRows(target)).toEqual(before);
  expect(await slotRows(source)).toEqual({ orders: [], transactions: [] });
});

it('adds a retired shard’s checkout figures to a live one’s once, however often the removal runs, its writers of one second merged', async () => {
  await source`update checkout_totals set committed = 40, refused = 2, aborted = 1`;
  await source`insert into checkout_seconds (second, writer, committed, refused, aborted, latency)
               values (date_trunc('second', now()), 1, 5, 1, 0, array_fill(0::bigint, array[64])),
                      (date_trunc('second', now()), 2, 3, 0, 0, array_fill(1::bigint, array[64]))`;
  await target`delete from absorbed_shards`;
  await target`update checkout_totals set committed = 100, refused = 0, aborted = 0`;
  await target`delete from checkout_seconds`;
  expect(await absorbCheckoutStats(source, target, 7)).toBe(true);
  expect(await absorbCheckoutStats(source, target, 7)).toBe(false);
  const { totals, seconds } = await readCheckoutStats(target, { sinceMs: 60_000 });
  expect(totals).toEqual({ committed: 148, refused: 3, aborted: 1 });
  expect(
    seconds.map(({ committed, refused, latency }) => ({ committed, refused, counted: latency.reduce((sum, n) => sum + n, 0) })),
  ).toEqual([{ committed: 8, refused: 1, counted: 64 }]);
});
