/**
 * A checkout's claim of its order on the order's shard: the order read, claimed for a new
 * transaction and logged with its participants, in one statement.
 */
import type postgres from 'postgres';
import type { ClaimFound, OrderForCheckout } from '../twopc/order-claim';
import type { ParticipantMaps } from '../twopc/routing';
import { ownerOfSlot, type SlotMap } from '../sharding/slots';

/** One checkout's claim: the order, its slot, and the id its new transaction gets if the order is free. */
export interface Claim {
  readonly txnId: string;
  readonly orderId: string;
  readonly slot: number;
}

/** Settings every claim of one statement shares. */
export interface ClaimSettings {
  readonly timeoutMs: number;
}

/** One statement's claims and the settings they share. */
export interface Claims extends ClaimSettings {
  readonly claims: readonly Claim[];
  /** The participants' slot maps the claimed transactions are routed by. */
  readonly maps: ParticipantMaps;
}

/**
 * Reads each order and, if it is unpaid and not being checked out, claims it for its new
 * transaction and starts that transaction's log entry, for several orders of one shard in one
 * statement (one round trip, one local transaction, one commit). A claimed order is returned as
 * claimed, with the routing logged for it (`checkout_routes`, migration 017): every prepare is
 * built from that record, and the log's participants are read from it. Not
 * claimed while another checkout claimed it in between: the order is returned as read before,
 * and the caller reads it again. The deadline is `timeoutMs` from now, by the database's clock.
 * An order that does not exist is missing from the result; one whose slot this shard does not
 * own is 'moved', whatever this shard still holds of it. Ownership is read by `slot_owned_here`,
 * under the slot's shared lock, before any order is locked: a move's fence waits for the claim,
 * and a claim after the fence sees it. The orders are locked in id order, as every other batch
 * here locks them, so two such statements never deadlock; each order appears once (the caller
 * folds repeats).
 */
export async function claimOrReadEach(
  sql: postgres.Sql,
  { claims, maps, ...settings }: Claims,
): Promise<Map<string, Exclude<ClaimFound, undefined>>> {
  const input = claims.map(({ orderId, txnId, slot }) => ({ order_id: orderId, txn_id: txnId, slot }));
  const rows = await sql<(OrderForCheckout & { order_id: string; owned: boolean; found: boolean })[]>`
    with input as (
      select order_id, txn_id, slot from jsonb_to_recordset(${sql.json(input)}) as claim(order_id text, txn_id text, slot int)),
    here as (
      select order_id, slot_owned_here(slot) as owned from input),
    found as (
      select orders.order_id, orders.user_id, orders.paid, orders.total_cost, orders.items, orders.checkout_txn, transactions.routes
      from orders join input using (order_id) left join transactions on transactions.txn_id = orders.checkout_txn),
    free as (
      select order_id from orders
      where order_id = any(array(select order_id from here where owned)) and not paid and checkout_txn is null
      order by order_id for update),
    claimed as (
      update orders set checkout_txn = input.txn_id
      from input
      where orders.order_id = input.order_id and orders.order_id in (select order_id from free)
        and not orders.paid and orders.checkout_txn is null
      returning orders.order_id, orders.user_id, orders.total_cost, orders.items, orders.checkout_txn, orders.slot,
                checkout_routes(orders.items, orders.user_id,
                  ${maps.stock.slotCount}::int, ${maps.stock.initialShards}::int, ${slotOwners(maps.stock)}::int[],
                  ${maps.payment.slotCount}::int, ${maps.payment.initialShards}::int, ${slotOwners(maps.payment)}::int[]) as routes),
    logged as (
      insert into transactions (txn_id, order_id, state, participants, routes, routed_by, deadline, slot)
      select checkout_txn, order_id, 'preparing', routes_participants(routes), routes,
             array[${maps.stock.version}::int, ${maps.payment.version}::int],
             now() + ${settings.timeoutMs} * interval '1 millisecond', slot
      from claimed)
    select here.order_id, here.owned, found.order_id is not null as found,
           coalesce(claimed.user_id, found.user_id) as user_id, found.paid,
           coalesce(claimed.total_cost, found.total_cost)::float8 as total_cost,
           coalesce(claimed.items, found.items) as items,
           coalesce(claimed.checkout_txn, found.checkout_txn) as checkout_txn,
           claimed.order_id is not null as claimed, coalesce(claimed.routes, found.routes) as routes
    from here left join found using (order_id) left join claimed using (order_id)`;
  const result = new Map<string, Exclude<ClaimFound, undefined>>();
  for (const { order_id: orderId, owned, found, ...order } of rows) {
    if (!owned) result.set(orderId, 'moved');
    else if (found) result.set(orderId, order);
  }
  return result;
}

const owners = new WeakMap<SlotMap, string>();

/**
 * What `slot_owner` in the order database reads of a map, as an array literal: empty while no
 * slot has moved, else every slot's owner. A literal, not `sql.array`: a statement first prepared
 * with an empty array (whose type postgres.js cannot infer) sent later ones as bare text.
 */
export function slotOwners(map: SlotMap): string {
  let literal = owners.get(map);
  if (literal === undefined) {
    literal =
      Object.keys(map.moved).length === 0
        ? '{}'
        : `{${Array.from({ length: map.slotCount }, (_, slot) => ownerOfSlot(slot, map)).join(',')}}`;
    owners.set(map, literal);
  }
  return literal;
}
