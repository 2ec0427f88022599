import type postgres from 'postgres';
import { countDecisions } from './checkout-stats';
import type { PendingWrites } from '../db/pipelined-transaction';
import type { AbortReason, Transaction } from '../twopc/coordinator';
import type { ParticipantId } from '../twopc/messages';
import type { ParticipantMaps } from '../twopc/routing';
import { ownerOfSlot, type SlotMap } from '../sharding/slots';

/** The channel on which an order shard announces decisions, so waiting checkouts wake at once. */
export const DECISION_CHANNEL = 'txn_decided';

/** A decided transaction as announced: its decision, and whether every participant has acknowledged it. */
export interface Announcement {
  readonly txnId: string;
  readonly state: 'committed' | 'aborted';
  readonly complete: boolean;
}

const isComplete = (txn: Transaction) => txn.participants.every((participant) => txn.acked.includes(participant));

/** What a decided transaction announces; undefined while it is undecided. */
export function announcementOf(txn: Transaction): Announcement | undefined {
  return txn.state === 'preparing' ? undefined : { txnId: txn.txnId, state: txn.state, complete: isComplete(txn) };
}

// Payload: "<txn id> <c|a> <0|1>" per transaction, comma-separated (ids never hold either character).
const encodeAnnouncement = ({ txnId, state, complete }: Announcement) => `${txnId} ${state === 'committed' ? 'c' : 'a'} ${complete ? 1 : 0}`;

export function parseAnnouncements(payload: string): Announcement[] {
  const announcements: Announcement[] = [];
  for (const entry of payload.split(',')) {
    const [txnId, state, complete] = entry.split(' ');
    if (txnId && (state === 'c' || state === 'a')) announcements.push({ txnId, state: state === 'c' ? 'committed' : 'aborted', complete: complete === '1' });
  }
  return announcements;
}

interface TransactionRow {
  txn_id: string;
  order_id: string;
  state: Transaction['state'];
  participants: ParticipantId[];
  yes: ParticipantId[];
  acked: ParticipantId[];
  abort_reason: AbortReason | null;
  abort_detail: string | null;
  refused_by: ParticipantId | null;
}

const COLUMNS = ['txn_id', 'order_id', 'state', 'participants', 'yes', 'acked', 'abort_reason', 'abort_detail', 'refused_by'];

function toTransaction(row: TransactionRow): Transaction {
  return {
    txnId: row.txn_id,
    orderId: row.order_id,
    state: row.state,
    participants: row.participants,
    yes: row.yes,
    acked: row.acked,
    ...(row.abort_reason === null ? {} : { abortReason: row.abort_reason }),
    ...(row.abort_detail === null ? {} : { abortDetail: row.abort_detail }),
    ...(row.refused_by === null ? {} : { refusedBy: row.refused_by }),
  };
}

/** The order as a checkout found it: as claimed, when this checkout claimed it; else as read. */
export interface OrderForCheckout {
  readonly user_id: string;
  readonly paid: boolean;
  readonly total_cost: number;
  readonly items: Record<string, number>;
  readonly checkout_txn: string | null;
  /** Whether this checkout claimed it: the order is now being checked out by `txnId`, and logged. */
  readonly claimed: boolean;
  /** The logged transaction's participants: when claimed, and when joined while it is logged (null while it is not). */
  readonly participants: ParticipantId[] | null;
  /** The versions of the stock and payment maps its prepares were routed by, as logged with them (null as `participants`, or logged before they were). */
  readonly routed_by: [stock: number, payment: number] | null;
}

/** One checkout's claim: the order, its slot, and the id its new transaction gets if the order is free. */
export interface Claim {
  readonly txnId: string;
  readonly orderId: string;
  readonly slot: number;
}

/** What a claim finds: the order, 'moved' when this shard does not own its slot (a stale map, a move), undefined when there is no such order. */
export type ClaimFound = OrderForCheckout | 'moved' | undefined;

/** Settings every claim of one statement shares. */
export interface ClaimSettings {
  readonly timeoutMs: number;
}

/**
 * Reads each order and, if it is unpaid and not being checked out, claims it for its new
 * transaction and starts that transaction's log entry, for several orders of one shard in one
 * statement (one round trip, one local transaction, one commit). A claimed order is returned as
 * claimed, so the prepares built from it are the ones whose participants the log holds (computed
 * by the migration's `checkout_participants`, the same routing as `prepareInstructions`). Not
 * claimed while another checkout claimed it in between: the order is returned as read before,
 * and the caller reads it again. The deadline is `timeoutMs` from now, by the database's clock.
 * An order that does not exist is missing from the result; one whose slot this shard does not
 * own is 'moved', whatever this shard still holds of it. Ownership is read by `slot_owned_here`,
 * under the slot's shared lock, before any order is locked: a move's fence waits for the claim,
 * and a claim after the fence sees it. The orders are locked in id order, as every other batch
 * here locks them, so two such statements never deadlock; each order appears once (the caller
 * folds repeats).
 */
/** One statement's claims and the settings they share. */
export interface Claims extends ClaimSettings {
  readonly claims: readonly Claim[];
  /** The participants' slot maps the claimed transactions are routed by. */
  readonly maps: ParticipantMaps;
}

export async function claimOrReadEach(sql: postgres.Sql, { claims, maps, ...settings }: Claims): Promise<Map<string, Exclude<ClaimFound, undefined>>> {
  const input = claims.map(({ orderId, txnId, slot }) => ({ order_id: orderId, txn_id: txnId, slot }));
  const rows = await sql<(OrderForCheckout & { order_id: string; owned: boolean; found: boolean })[]>`
    with input as (
      select order_id, txn_id, slot from jsonb_to_recordset(${sql.json(input)}) as claim(order_id text, txn_id text, slot int)),
    here as (
      select order_id, slot_owned_here(slot) as owned from input),
    found as (
      select orders.order_id, orders.user_id, orders.paid, orders.total_cost, orders.items, orders.checkout_txn, transactions.participants, transactions.routed_by
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
                checkout_participants(orders.items, orders.user_id,
                  ${maps.stock.slotCount}::int, ${maps.stock.initialShards}::int, ${slotOwners(maps.stock)}::int[],
                  ${maps.payment.slotCount}::int, ${maps.payment.initialShards}::int, ${slotOwners(maps.payment)}::int[]) as participants),
    logged as (
      insert into transactions (txn_id, order_id, state, participants, routed_by, deadline, slot)
      select checkout_txn, order_id, 'preparing', participants, array[${maps.stock.version}::int, ${maps.payment.version}::int],
             now() + ${settings.timeoutMs} * interval '1 millisecond', slot
      from claimed)
    select here.order_id, here.owned, found.order_id is not null as found,
           coalesce(claimed.user_id, found.user_id) as user_id, found.paid,
           coalesce(claimed.total_cost, found.total_cost)::float8 as total_cost,
           coalesce(claimed.items, found.items) as items,
           coalesce(claimed.checkout_txn, found.checkout_txn) as checkout_txn,
           claimed.order_id is not null as claimed, coalesce(claimed.participants, found.participants) as participants,
           case when claimed.order_id is not null then array[${maps.stock.version}::int, ${maps.payment.version}::int] else found.routed_by end as routed_by
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
    literal = Object.keys(map.moved).length === 0 ? '{}' : `{${Array.from({ length: map.slotCount }, (_, slot) => ownerOfSlot(slot, map)).join(',')}}`;
    owners.set(map, literal);
  }
  return literal;
}

export async function readTransaction(sql: postgres.Sql, txnId: string): Promise<Transaction | undefined> {
  const [row] = await sql<TransactionRow[]>`select ${sql(COLUMNS)} from transactions where txn_id = ${txnId}`;
  return row && toTransaction(row);
}

/** Locks the given transactions, in txn id order so that concurrent batches never deadlock. */
export async function lockTransactions(sql: postgres.TransactionSql, txnIds: readonly string[]): Promise<Map<string, Transaction>> {
  const rows = await sql<TransactionRow[]>`
    select ${sql(COLUMNS)} from transactions where txn_id = any(${sql.array([...txnIds].sort())}::text[]) order by txn_id for update`;
  return new Map(rows.map((row) => [row.txn_id, toTransaction(row)]));
}

/** Locks undecided transactions past their deadline, skipping any another resolver holds. */
export async function lockExpired(sql: postgres.TransactionSql, limit: number): Promise<Transaction[]> {
  const rows = await sql<TransactionRow[]>`
    select ${sql(COLUMNS)} from transactions where state = 'preparing' and deadline < now()
    order by deadline limit ${limit} for update skip locked`;
  return rows.map(toTransaction);
}

/**
 * Deletes up to `limit` log entries of transactions finished (decided and acknowledged by every
 * participant) longer than `retentionMs` ago, oldest first, skipping any another resolver holds.
 * Nothing needs them again: the order row says whether it is paid, a checkout joins only an
 * undecided transaction, and every participant applied the decision before acknowledging it
 * (why their own records can go too: `participation-retention.ts`).
 */
export async function forgetCompleted(sql: postgres.Sql, { retentionMs, limit }: { readonly retentionMs: number; readonly limit: number }): Promise<number> {
  const deleted = await sql`
    delete from transactions
    where txn_id in (
      select txn_id from transactions
      where completed_at < now() - ${retentionMs} * interval '1 millisecond'
      order by completed_at limit ${limit} for update skip locked)`;
  return deleted.count;
}

/** The longest pause between two sends of one decision. */
export const MAX_RESEND_PAUSE_MS = 60_000;

/**
 * Claims the decided transactions that some participant has not acknowledged and whose next
 * resend is due, most overdue first, skipping any another resolver holds; each claimed one's
 * next resend is put off by a pause that doubles with every resend (`pauseMs`, 2×, 4×, … up to a
 * minute). The due time counts from `resend_clock`: it is set to the claim time plus the extra
 * pause, so one index on it serves the order and the bound.
 */
export async function claimResends(sql: postgres.Sql, { pauseMs, limit }: { readonly pauseMs: number; readonly limit: number }): Promise<Transaction[]> {
  const rows = await sql<TransactionRow[]>`
    update transactions t
    set resends = t.resends + 1,
        resend_clock = now() + (least(${pauseMs}::float8 * power(2, t.resends + 1), ${MAX_RESEND_PAUSE_MS}::float8) - ${pauseMs}::float8) * interval '1 millisecond'
    from (
      select txn_id from transactions
      where state <> 'preparing' and completed_at is null
        and coalesce(resend_clock, decided_at) <= now() - ${pauseMs}::float8 * interval '1 millisecond'
      order by coalesce(resend_clock, decided_at) limit ${limit}::int for update skip locked
    ) due
    where t.txn_id = due.txn_id
    returning ${sql(COLUMNS.map((column) => `t.${column}`))}`;
  return rows.map(toTransaction);
}

/**
 * The statements (unsent) that write changed log entries in one statement; for those just
 * decided, mark the order paid (commit) or free to change again (abort) in the same local
 * transaction, and announce the decisions. The caller's transaction commits all of it together,
 * before any decision is sent.
 */
export function saveTransactions(
  sql: postgres.TransactionSql,
  { changed, decided }: { readonly changed: readonly Transaction[]; readonly decided: ReadonlySet<string> },
): PendingWrites {
  if (changed.length === 0) return [];
  const records = changed.map((txn) => ({
    txn_id: txn.txnId,
    state: txn.state,
    yes: txn.yes,
    acked: txn.acked,
    abort_reason: txn.abortReason ?? null,
    abort_detail: txn.abortDetail ?? null,
    refused_by: txn.refusedBy ?? null,
    decided: decided.has(txn.txnId),
    completed: txn.state !== 'preparing' && isComplete(txn),
  }));
  const writes: postgres.PendingQuery<postgres.Row[]>[] = [];
  writes.push(sql`
    update transactions t
    set state = r.state,
        yes = array(select jsonb_array_elements_text(r.yes)),
        acked = array(select jsonb_array_elements_text(r.acked)),
        abort_reason = r.abort_reason,
        abort_detail = r.abort_detail,
        refused_by = r.refused_by,
        decided_at = case when r.decided then now() else t.decided_at end,
        completed_at = case when r.completed then coalesce(t.completed_at, now()) else null end
    from jsonb_to_recordset(${sql.json(records as never)}) as r(
      txn_id text, state text, yes jsonb, acked jsonb, abort_reason text, abort_detail text, refused_by text, decided boolean, completed boolean)
    where t.txn_id = r.txn_id`);
  const decisions = changed.filter((txn) => decided.has(txn.txnId)).map((txn) => ({ order_id: txn.orderId, txn_id: txn.txnId, paid: txn.state === 'committed' }));
  if (decisions.length > 0) {
    writes.push(sql`
      update orders o set paid = o.paid or d.paid, checkout_txn = null
      from jsonb_to_recordset(${sql.json(decisions as never)}) as d(order_id text, txn_id text, paid boolean)
      where o.order_id = d.order_id and o.checkout_txn = d.txn_id`);
    writes.push(countDecisions(sql, decisions.map((decision) => decision.txn_id)));
  }
  // Decisions are announced, and so are the acknowledgements of an abort: a checkout that
  // aborted waits for its participants to give everything back. Nobody waits for a commit's
  // acknowledgements, and every announcement reaches every listening instance, so those are not.
  // A NOTIFY payload holds at most 8000 bytes: in chunks.
  const announced = changed
    .filter((txn) => decided.has(txn.txnId) || txn.state === 'aborted')
    .flatMap((txn) => announcementOf(txn) ?? [])
    .map(encodeAnnouncement);
  for (let start = 0; start < announced.length; start += 100) {
    writes.push(sql`select pg_notify(${DECISION_CHANNEL}, ${announced.slice(start, start + 100).join(',')})`);
  }
  return writes;
}
