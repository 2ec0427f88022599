import { randomUUID } from 'node:crypto';
import { MAX_AMOUNT } from '../../layers/db/balances';
import { everyShardOrNone, SPANNING_RETRY_BUDGET_MS } from '../../layers/db/every-shard-or-none';
import { ownsAllSlots, ownsForReading, ownsForWriting, updateIfOwned } from '../../layers/db/owned-slots';
import { idForKey, type WriteKey, type Written, writeOnce } from '../../layers/db/idempotency';
import { onOwner, type ShardSet, SlotMovedError, withNewerRoutes } from '../../layers/db/shards';
import { ConflictError, NotFoundError } from '../../layers/errors';
import { groupByShard } from '../../layers/sharding/shard';

export interface Order {
  readonly order_id: string;
  readonly paid: boolean;
  readonly items: [string, number][];
  readonly user_id: string;
  readonly total_cost: number;
}

interface OrderRow {
  user_id: string;
  paid: boolean;
  total_cost: number;
  items: Record<string, number>;
  checkout_txn: string | null;
}

// Every statement on an order checks, in the same statement, that its shard owns the order's
// slot (a write under the slot's shared lock, which a move's fence waits for); else
// SlotMovedError, and `onOwner` tries again where a newer map says.

/** A new order of `userId`; with an Idempotency-Key its id is drawn from the key, and a retry returns the same one. */
export async function createOrder(orders: ShardSet, userId: string, key?: WriteKey): Promise<Written<string>> {
  const orderId = key ? idForKey('orders', key.key) : randomUUID();
  const created = await onOwner(orders, orderId, (sql, slot) =>
    writeOnce(sql, { id: orderId, slot, what: 'the new order' }, key, async (tx) => {
      const inserted = await tx`
        insert into orders (order_id, user_id, slot) select ${orderId}, ${userId}, ${slot} where ${ownsForWriting(tx, slot)}`;
      if (inserted.count === 0) throw new SlotMovedError(`new order ${orderId}`);
      return orderId;
    }),
  );
  return created!;
}

export async function findOrder(orders: ShardSet, orderId: string): Promise<Order> {
  return onOwner(orders, orderId, async (sql, slot) => {
    const [row] = await sql<(Partial<OrderRow> & { owned: boolean })[]>`
      select user_id, paid, total_cost::float8 as total_cost, items,
             ${ownsForReading(sql, slot)} as owned
      from (select 1) as one left join orders on order_id = ${orderId}`;
    if (!row!.owned) throw new SlotMovedError(`order ${orderId}`);
    if (row!.user_id === null || row!.user_id === undefined)
      throw new NotFoundError(`order ${orderId} not found`, { code: 'order_not_found' });
    return { order_id: orderId, paid: row!.paid!, items: Object.entries(row!.items!), user_id: row!.user_id, total_cost: row!.total_cost! };
  });
}

/**
 * Adds `quantity` of an item at `price` each, in one statement that also checks the order is
 * neither paid nor being checked out right now (its items are what that checkout takes).
 */
export interface ItemToAdd {
  readonly orderId: string;
  readonly itemId: string;
  readonly quantity: number;
  readonly price: number;
}

export async function addItem(orders: ShardSet, { orderId, itemId, quantity, price }: ItemToAdd, key?: WriteKey): Promise<Written<number>> {
  const cost = price * quantity;
  if (!Number.isSafeInteger(cost))
    throw new ConflictError(`${quantity} of item ${itemId} at ${price} would cost more than ${MAX_AMOUNT}`, { code: 'amount_too_large' });
  const changed = await onOwner(orders, orderId, (sql, slot) =>
    writeOnce(sql, { id: orderId, slot, what: `the item added to order ${orderId}` }, key, async (tx) => {
      const row = await updateIfOwned<{ total_cost: number }>(
        tx,
        slot,
        `order ${orderId}`,
        (owned) => tx`
      update orders
      set items = jsonb_set(items, ${tx.array([itemId])}::text[], to_jsonb(coalesce((items ->> ${itemId})::bigint, 0) + ${quantity})),
          total_cost = total_cost + ${cost}
      where order_id = ${orderId} and not paid and checkout_txn is null
        and total_cost + ${cost} <= ${MAX_AMOUNT}
        and coalesce((items ->> ${itemId})::bigint, 0) + ${quantity} <= ${MAX_AMOUNT}
        and ${owned}
      returning total_cost::float8 as total_cost`,
      );
      return row?.total_cost;
    }),
  );
  if (changed) return changed;
  // Not changed on the shard that owns it: missing, paid, being checked out, or too large (the read says which of the first three).
  const order = await onOwner(orders, orderId, async (sql, slot) => {
    const [row] = await sql<(Pick<OrderRow, 'paid' | 'checkout_txn'> & { owned: boolean })[]>`
      select paid, checkout_txn, ${ownsForReading(sql, slot)} as owned
      from (select 1) as one left join orders on order_id = ${orderId}`;
    if (!row!.owned) throw new SlotMovedError(`order ${orderId}`);
    return row!;
  });
  if (order.paid === null) throw new NotFoundError(`order ${orderId} not found`, { code: 'order_not_found' });
  if (order.paid) throw new ConflictError(`order ${orderId} is already paid and cannot change`, { code: 'order_paid' });
  if (order.checkout_txn)
    throw new ConflictError(`order ${orderId} is being checked out and cannot change now`, { code: 'order_in_checkout' });
  throw new ConflictError(`adding ${quantity} of item ${itemId} would take order ${orderId} past the largest total, ${MAX_AMOUNT}`, {
    code: 'amount_too_large',
  });
}

const SLICE = 20_000;

/**
 * Creates or overwrites orders "0" … "n-1", each with two random items of quantity 1 and a
 * random user, unpaid: one multi-row upsert per slice, each shard in one transaction.
 *
 * The orders are locked first, in id order. An order being checked out is not overwritten: a
 * second transaction could start for it while the first may still commit. Then nothing is
 * changed, on any shard, and 409 says which.
 */
export interface OrdersInit {
  readonly count: number;
  readonly itemCount: number;
  readonly userCount: number;
  readonly itemPrice: number;
}

export async function batchInitOrders(orders: ShardSet, { count, itemCount, userCount, itemPrice }: OrdersInit): Promise<void> {
  const random = (below: number) => String(Math.floor(Math.random() * below));
  const rows = Array.from({ length: count }, (_, index) => {
    const items: Record<string, number> = {};
    for (let line = 0; line < 2; line++) {
      const itemId = random(itemCount);
      items[itemId] = (items[itemId] ?? 0) + 1;
    }
    return { id: String(index), userId: random(userCount), items: JSON.stringify(items) };
  });
  await withNewerRoutes(
    orders,
    (shards) =>
      everyShardOrNone(
        [...groupByShard(rows, (row) => row.id, shards.ownerOf)].map(([shard, shardRows]) => ({
          shard,
          sql: shards.at(shard),
          async check(sql) {
            if (!(await ownsAllSlots(sql, [...new Set(shardRows.map((row) => shards.slotOf(row.id)))])))
              throw new SlotMovedError(`one of the ${shardRows.length} orders of shard ${shard}`);
            const [busy] = await sql<[{ rows: number; examples: string[] | null }]>`
          with locked as (
            select order_id, checkout_txn from orders
            where order_id = any(${sql.array(shardRows.map((row) => row.id))}::text[]) order by order_id for update)
          select count(*) filter (where checkout_txn is not null)::int as rows,
                 (array_agg(order_id order by order_id) filter (where checkout_txn is not null))[1:3] as examples
          from locked`;
            if (busy.rows === 0) return undefined;
            return `${busy.rows} order${busy.rows === 1 ? ' is' : 's are'} being checked out (${busy.examples!.join(', ')}${busy.rows > 3 ? ', …' : ''})`;
          },
          async write(sql) {
            for (let start = 0; start < shardRows.length; start += SLICE) {
              const slice = shardRows.slice(start, start + SLICE);
              await sql`
            insert into orders (order_id, user_id, paid, total_cost, items, checkout_txn, slot)
            select id, user_id, false, ${2 * itemPrice}, items::jsonb, null, slot
            from unnest(${sql.array(slice.map((row) => row.id))}::text[],
                        ${sql.array(slice.map((row) => row.userId))}::text[],
                        ${sql.array(slice.map((row) => row.items))}::text[],
                        ${sql.array(slice.map((row) => shards.slotOf(row.id)))}::int[]) as v(id, user_id, items, slot)
            on conflict (order_id) do update
              set user_id = excluded.user_id, paid = false, total_cost = excluded.total_cost,
                  items = excluded.items, checkout_txn = null`;
            }
          },
        })),
        (reasons) => `batch_init changed nothing: ${reasons.join('; ')}; try again once they are decided`,
      ),
    SPANNING_RETRY_BUDGET_MS,
  );
}
