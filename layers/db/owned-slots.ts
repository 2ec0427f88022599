/**
 * Which slots a shard owns (its `owned_slots` rows): the checks its work makes in the same local
 * transaction, the locks that make a move wait for that work, and the fence a move starts with.
 * The map the shard was last told is its copy (`shard-map-copy.ts`).
 */
import type postgres from 'postgres';
import { LOCK_NOT_AVAILABLE } from './bounded-locks';
import { SlotMovedError } from './shards';

export type SlotState = 'owned' | 'fenced' | 'incoming';

/**
 * The first key of the advisory locks on slots (the second is the slot): a number of this
 * project's own; `slot_owned_here` in the migrations takes the same locks, by the same number (5310289).
 */
export const SLOT_LOCKS = 0x510751;

/**
 * Which of `slots` this shard owns, for a transaction that works on them: each slot is locked
 * shared until the transaction ends, so a move that fences one (`fenceSlot`) waits for it, and
 * its ownership is read after its lock, with a snapshot that sees any fence committed before it
 * (`slot_owned_here`, stock and payment migration 007). Advisory locks, not `for share` on the
 * rows: row share locks from concurrent batches write multixacts, which cost a third of the
 * checkout throughput.
 */
export async function ownedSlots(tx: postgres.TransactionSql, slots: readonly number[]): Promise<Set<number>> {
  if (slots.length === 0) return new Set();
  const owned = await tx<{ slot: number }[]>`select slot from unnest(${tx.array([...slots])}::int[]) as slot where slot_owned_here(slot)`;
  return new Set(owned.map((row) => row.slot));
}

/**
 * A condition for a statement that writes on a key of `slot`: true when this shard owns the slot,
 * holding its shared lock to the end of the transaction (`slot_owned_here`, as `ownedSlots`).
 */
export function ownsForWriting(sql: postgres.Sql | postgres.TransactionSql, slot: number): postgres.PendingQuery<postgres.Row[]> {
  return sql`slot_owned_here(${slot}::int)`;
}

/**
 * Runs `update` (an update of one key of `slot`, with `owned` among its conditions) only if this
 * shard owns the slot, under the slot's shared lock (`ownsForWriting`), and says which it was in
 * the same statement: a write the shard refused is retried on the slot's new owner
 * (`SlotMovedError`, `onOwner`), never taken for a write its own conditions refused (undefined).
 */
export async function updateIfOwned<Row extends postgres.Row>(
  sql: postgres.Sql | postgres.TransactionSql,
  slot: number,
  what: string,
  update: (owned: postgres.PendingQuery<postgres.Row[]>) => postgres.PendingQuery<postgres.Row[]>,
): Promise<Row | undefined> {
  // slot_owned_here is volatile, so the CTE is evaluated once, before the update.
  const [result] = await sql<[{ owned: boolean; row: Row | null }]>`
    with here as (select ${ownsForWriting(sql, slot)} as owned),
    changed as (${update(sql`(select owned from here)`)})
    select (select owned from here) as owned, (select row_to_json(changed) from changed) as row`;
  if (!result.owned) throw new SlotMovedError(what);
  return result.row ?? undefined;
}

/** A condition for a statement that only reads a key of `slot`: true when this shard owns it, in the statement's snapshot. */
export function ownsForReading(sql: postgres.Sql, slot: number): postgres.PendingQuery<postgres.Row[]> {
  return sql`exists (select 1 from owned_slots where slot = ${slot} and state = 'owned')`;
}

/**
 * Whether this shard owns every one of `slots`, for a batch_init that may span them all: each
 * row of `owned_slots` is share-locked to the end of the transaction (a fence's update waits for
 * it). Row locks, not advisory ones: every slot would be more advisory locks than a server keeps room for.
 */
export async function ownsAllSlots(tx: postgres.TransactionSql | postgres.Sql, slots: readonly number[]): Promise<boolean> {
  const [owns] = await tx<[{ slots: number }]>`
    select count(*)::int as slots from (
      select slot from owned_slots where slot = any(${tx.array([...slots])}::int[]) and state = 'owned' order by slot for share) as owned`;
  return owns.slots === slots.length;
}

/** How long a fence waits for the work holding its slot before the move leaves the slot for later. */
export const FENCE_WAIT_MS = 500;

/** What `fenceSlot` found: the slot fenced by it, not owned (fenced by someone else counts), or held past `FENCE_WAIT_MS`. */
export type FenceOutcome = 'fenced' | 'not owned' | 'busy';

/**
 * Fences a slot this shard owns: from its commit on, every statement on the slot is refused here.
 * It waits for the transactions holding the slot: batches and HTTP writes (the slot's advisory
 * lock, `ownedSlots` and `ownsForWriting`) and batch_init (`ownsAllSlots`' row lock). While it
 * waits it holds the slot's lock exclusively, so every new prepare and claim on the slot waits
 * behind it: the wait is bounded (`FENCE_WAIT_MS`; a long batch_init outlasts it) and then the
 * fence gives up ('busy') and the slot is tried again later. A slot fenced already is not fenced
 * again: that is another move's, or one a crash cut (`resumeMoves` settles it).
 */
export async function fenceSlot(sql: postgres.Sql, slot: number): Promise<FenceOutcome> {
  try {
    return await sql.begin(async (tx) => {
      await tx`select set_config('lock_timeout', ${`${FENCE_WAIT_MS}ms`}, true)`;
      await tx`select pg_advisory_xact_lock(${SLOT_LOCKS}, ${slot})`;
      const [row] = await tx<
        { state: SlotState }[]
      >`update owned_slots set state = 'fenced' where slot = ${slot} and state = 'owned' returning state`;
      return row ? 'fenced' : 'not owned';
    });
  } catch (error) {
    if ((error as { code?: string }).code === LOCK_NOT_AVAILABLE) return 'busy';
    throw error;
  }
}

/** What a shard says of the slots it holds: the truth a slot map is a copy of. */
export async function readOwnedSlots(sql: postgres.Sql): Promise<Map<number, { state: SlotState; sinceVersion: number }>> {
  const rows = await sql<
    { slot: number; state: SlotState; since_version: number }[]
  >`select slot, state, since_version from owned_slots order by slot`;
  return new Map(rows.map((row) => [row.slot, { state: row.state, sinceVersion: row.since_version }]));
}
