/** The checks once a storm is over, each what a user of the shop could see: balances that add up, a shop that serves again, no lock left behind. */
import type postgres from 'postgres';
import type { ShopClient } from './client';
import { START_CREDIT, START_STOCK, type StormLedger, type StormRows } from './storm-rows';

/** Start + what the ledger says was added and taken = what is left + what the paid orders took, per item and per user. */
export async function conservationOfStorm(client: ShopClient, { items, users, orders }: StormRows, ledger: StormLedger): Promise<string[]> {
  const takenStock = new Map(items.map((id) => [id, 0n]));
  const takenCredit = new Map(users.map((id) => [id, 0n]));
  for (const orderId of orders) {
    const order = await client.order(orderId);
    if (!order.paid) continue;
    for (const [itemId, quantity] of order.items) takenStock.set(itemId, takenStock.get(itemId)! + BigInt(quantity));
    takenCredit.set(order.user_id, takenCredit.get(order.user_id)! + BigInt(order.total_cost));
  }
  const balances = [
    {
      ids: items,
      what: 'stock of item',
      start: START_STOCK,
      changed: ledger.stock,
      by: 'add/subtract',
      taken: takenStock,
      takenBy: 'taken by',
      read: client.stock,
    },
    {
      ids: users,
      what: 'credit of user',
      start: START_CREDIT,
      changed: ledger.credit,
      by: 'add_funds/pay',
      taken: takenCredit,
      takenBy: 'charged to',
      read: client.credit,
    },
  ];
  const violations: string[] = [];
  for (const { ids, what, start, changed, by, taken, takenBy, read } of balances) {
    for (const id of ids) {
      const left = BigInt(await read.call(client, id));
      if (BigInt(start) + changed.get(id)! !== left + taken.get(id)!)
        violations.push(
          `${what} ${id}: ${start} + ${changed.get(id)} changed by ${by} ≠ ${left} left + ${taken.get(id)} ${takenBy} paid orders`,
        );
    }
  }
  return violations;
}

/** Once the storm is over, the shop must serve again at once: an item, a user and an order made, checked out and paid within `withinMs`. */
export async function servesAgain(client: ShopClient, withinMs: number): Promise<string[]> {
  const started = Date.now();
  try {
    const itemId = await client.createItem(2);
    await client.addStock(itemId, 3);
    const userId = await client.createUser();
    await client.addFunds(userId, 10);
    const orderId = await client.createOrder(userId);
    await client.addItem(orderId, itemId, 2);
    const { status } = await client.checkout(orderId);
    const ms = Date.now() - started;
    if (status !== 200) return [`after the storm, a checkout answered ${status}`];
    if (ms > withinMs) return [`after the storm, making and checking out an order took ${ms} ms (bound ${withinMs} ms)`];
    return [];
  } catch (error) {
    return [`after the storm, the shop did not serve: ${error instanceof Error ? error.message : String(error)}`];
  }
}

/** Locks held, or waited for, longer than `boundMs` on any shard: a transaction idle inside, or a statement waiting on a lock. */
export async function longHeldLocks(shards: ReadonlyMap<string, postgres.Sql>, boundMs: number): Promise<string[]> {
  const found: string[] = [];
  for (const [name, sql] of shards) {
    const rows = await sql<{ pid: number; state: string; wait: string | null; held_ms: number; query: string }[]>`
      select pid, state, wait_event_type as wait, (extract(epoch from now() - xact_start) * 1000)::int as held_ms, left(query, 120) as query
      from pg_stat_activity
      where datname = current_database() and pid <> pg_backend_pid() and xact_start is not null
        and now() - xact_start > ${boundMs} * interval '1 millisecond'
        and (state like 'idle in transaction%' or wait_event_type = 'Lock')`;
    for (const row of rows)
      found.push(`${name}: pid ${row.pid} ${row.state}${row.wait ? ` waiting on ${row.wait}` : ''} for ${row.held_ms} ms: ${row.query}`);
  }
  return found;
}
