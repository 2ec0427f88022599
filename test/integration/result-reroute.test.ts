import type postgres from 'postgres';
import { applyResultsWhereOwned } from '../../layers/coordinator/decision-sends';
import { shardSetOf, type ShardSet } from '../../layers/db/shards';
import { slotOf, withSlotMoved } from '../../layers/sharding/slots';
import type { Vote } from '../../layers/twopc/messages';
import { scratchShards } from './support/scratch-shards';

/**
 * Votes reach a transaction logged on a shard that a results consumer's map does not name for its
 * order: the consumer's map is older than the move of the order's slot (or than the map the
 * checkout was routed by). The shard the old map names does not know the transaction, so the
 * votes follow newer maps, and are applied once, where the transaction is. Two scratch databases
 * of the order schema stand for the slot's old owner (shard 0) and its new one (2).
 */
const shards = scratchShards('order');
const { startMap } = shards;
const SLOT = 4;
const moved = withSlotMoved(startMap, SLOT, 2);
const run = `${process.pid}`;
const orderId = orderInSlot(SLOT);
let source: postgres.Sql;
let target: postgres.Sql;

function orderInSlot(slot: number): string {
  for (let n = 0; ; n++) if (slotOf(`reroute-${run}-${n}`, startMap) === slot) return `reroute-${run}-${n}`;
}

/** Routes by `map`; a newer map is each of `newer` in turn, then the last of them again. */
function routes(map: typeof startMap, ...newer: (typeof startMap)[]): ShardSet {
  const pools = new Map([
    [0, source],
    [2, target],
  ]);
  const [next, ...later] = newer;
  const rerouting = { newer: async () => (next ? routes(next, ...later) : set), latest: async () => set };
  const set = shardSetOf(pools, map, rerouting);
  return set;
}

const vote = (txnId: string, participant: 'stock-1' | 'payment-0'): Vote => ({ kind: 'vote', txnId, orderId, participant, vote: 'yes' });

beforeEach(async () => {
  ({ source, target } = shards);
  for (const sql of [source, target]) await sql`truncate orders, transactions, owned_slots`;
  await target`insert into owned_slots (slot, state, since_version) values (${SLOT}, 'owned', ${moved.version})`;
  await target`insert into orders (order_id, user_id, total_cost, items, checkout_txn, slot) values (${orderId}, 'u1', 6, '{"i1": 2}', 't-moved', ${SLOT})`;
  await target`
    insert into transactions (txn_id, order_id, state, participants, deadline, slot)
    values ('t-moved', ${orderId}, 'preparing', '{stock-1,payment-0}', now() + interval '1 minute', ${SLOT})`;
});

it('applies votes by a newer map where the old one names a shard that does not know the transaction, and commits there', async () => {
  const stale = routes(startMap, moved);
  expect(stale.ownerOf(orderId)).toBe(0);

  const { sends, violations, unknown } = await applyResultsWhereOwned(stale, [vote('t-moved', 'stock-1'), vote('t-moved', 'payment-0')], 3);

  expect({ violations, unknown }).toEqual({ violations: [], unknown: [] });
  expect(sends.map((send) => `${send.kind} ${send.participant}`).sort()).toEqual(['commit payment-0', 'commit stock-1']);
  const [logged] = await target<{ state: string; yes: string[] }[]>`select state, yes from transactions where txn_id = 't-moved'`;
  expect(logged).toEqual({ state: 'committed', yes: ['stock-1', 'payment-0'] });
  expect(await target`select paid from orders where order_id = ${orderId}`).toEqual([{ paid: true }]);
  expect(await source`select txn_id from transactions`).toEqual([]);
});

it('gives back, unapplied, a result no map routes to a shard that knows it, after as many newer maps as it is allowed', async () => {
  const { sends, unknown } = await applyResultsWhereOwned(routes(startMap, moved), [vote('t-nowhere', 'stock-1')], 3);
  expect(sends).toEqual([]);
  expect(unknown).toEqual([vote('t-nowhere', 'stock-1')]);

  // Allowed no newer map, the moved transaction's votes stay unknown too, and nothing changes.
  const refused = await applyResultsWhereOwned(routes(startMap, moved), [vote('t-moved', 'stock-1')], 0);
  expect(refused.unknown).toEqual([vote('t-moved', 'stock-1')]);
  expect(await target`select yes from transactions where txn_id = 't-moved'`).toEqual([{ yes: [] }]);
});
