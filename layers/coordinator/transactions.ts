/**
 * The 2PC log of an order shard: its entries read and locked, the decisions and votes written
 * (with the orders they settle and their announcements), the resends the resolver claims, and the
 * retention of finished entries.
 */
import type postgres from 'postgres';
import { countDecisions } from './checkout-stats';
import { DECISION_CHANNEL, announcementOf, encodeAnnouncement, isComplete } from './announcements';
import type { PendingWrites } from '../db/pipelined-transaction';
import type { AbortReason, Transaction } from '../twopc/coordinator-step';
import type { ParticipantId } from '../twopc/messages';

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

/** A log entry as locked for a decision, with how long ago it was claimed by the database's clock (the live view's latency). */
export interface LockedTransaction {
  readonly txn: Transaction;
  readonly ageMs: number;
}

// now() is the locking transaction's start, the same instant its decisions are written at.
const AGE_MS = 'extract(epoch from now() - created_at) * 1000';

function toLocked(row: TransactionRow & { age_ms: number }): LockedTransaction {
  return { txn: toTransaction(row), ageMs: row.age_ms };
}

export async function readTransaction(sql: postgres.Sql, txnId: string): Promise<Transaction | undefined> {
  const [row] = await sql<TransactionRow[]>`select ${sql(COLUMNS)} from transactions where txn_id = ${txnId}`;
  return row && toTransaction(row);
}

/** Locks the given transactions, in txn id order so that concurrent batches never deadlock. */
export async function lockTransactions(sql: postgres.TransactionSql, txnIds: readonly string[]): Promise<Map<string, LockedTransaction>> {
  const rows = await sql<(TransactionRow & { age_ms: number })[]>`
    select ${sql(COLUMNS)}, ${sql.unsafe(AGE_MS)}::float8 as age_ms
    from transactions where txn_id = any(${sql.array([...txnIds].sort())}::text[]) order by txn_id for update`;
  return new Map(rows.map((row) => [row.txn_id, toLocked(row)]));
}

/** Locks undecided transactions past their deadline, skipping any another resolver holds. */
export async function lockExpired(sql: postgres.TransactionSql, limit: number): Promise<LockedTransaction[]> {
  const rows = await sql<(TransactionRow & { age_ms: number })[]>`
    select ${sql(COLUMNS)}, ${sql.unsafe(AGE_MS)}::float8 as age_ms from transactions where state = 'preparing' and deadline < now()
    order by deadline limit ${limit} for update skip locked`;
  return rows.map(toLocked);
}

/**
 * How long ago the oldest undecided transaction was claimed, in ms by the database's clock; 0 when
 * none is undecided. "Oldest" is the one with the earliest deadline (each deadline is its claim
 * plus the checkout timeout): one row read from the index of undecided entries.
 */
export async function oldestUndecidedAgeMs(sql: postgres.Sql): Promise<number> {
  const [row] = await sql<{ age_ms: number }[]>`
    select (extract(epoch from now() - created_at) * 1000)::float8 as age_ms
    from transactions where state = 'preparing' order by deadline limit 1`;
  return row ? Math.max(0, Math.round(row.age_ms)) : 0;
}

/**
 * Deletes up to `limit` log entries of transactions finished (decided and acknowledged by every
 * participant) longer than `retentionMs` ago, oldest first, skipping any another resolver holds.
 * Nothing needs them again: the order row says whether it is paid, a checkout joins only an
 * undecided transaction, and every participant applied the decision before acknowledging it
 * (why their own records can go too: `participation-retention.ts`).
 */
export async function forgetCompleted(
  sql: postgres.Sql,
  { retentionMs, limit }: { readonly retentionMs: number; readonly limit: number },
): Promise<number> {
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
export async function claimResends(
  sql: postgres.Sql,
  { pauseMs, limit }: { readonly pauseMs: number; readonly limit: number },
): Promise<Transaction[]> {
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
  {
    changed,
    decided,
    agesMs,
  }: { readonly changed: readonly Transaction[]; readonly decided: ReadonlySet<string>; readonly agesMs: ReadonlyMap<string, number> },
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
  // The key lists let the planner find the rows by key: it takes a recordset for 100 rows, and
  // so hash-joined it against a scan of the whole log (docs/performance.md, 'Levers').
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
    where t.txn_id = r.txn_id and t.txn_id = any(${sql.array(records.map((record) => record.txn_id))}::text[])`);
  const decisions = changed
    .filter((txn) => decided.has(txn.txnId))
    .map((txn) => ({ order_id: txn.orderId, txn_id: txn.txnId, paid: txn.state === 'committed' }));
  if (decisions.length > 0) {
    writes.push(sql`
      update orders o set paid = o.paid or d.paid, checkout_txn = null
      from jsonb_to_recordset(${sql.json(decisions as never)}) as d(order_id text, txn_id text, paid boolean)
      where o.order_id = d.order_id and o.checkout_txn = d.txn_id and o.order_id = any(${sql.array(decisions.map((decision) => decision.order_id))}::text[])`);
    writes.push(
      countDecisions(
        sql,
        changed.filter((txn) => decided.has(txn.txnId)).map((txn) => ({ ...txn, ageMs: agesMs.get(txn.txnId) ?? 0 })),
      ),
    );
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
