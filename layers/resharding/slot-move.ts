import type postgres from 'postgres';
import { ownerOfSlot, type SlotMap, type SlotMove, withSlotMoved } from '../sharding/slots';
import { FENCE_WAIT_MS, fenceSlot } from '../db/owned-slots';
import { saveMapCopies } from '../db/shard-map-copy';
import type { SlottedData } from './slot-adoption';

/** Rows per insert statement of a copy (postgres.js sends one parameter per column and row; at most 65,535). */
const COPY_CHUNK = 1_000;

/** What moving one slot needs: the shards by number, where the map is published, and bounds. */
export interface MoveContext {
  /** What the service keeps in its slots (`SLOTTED_SERVICES`). */
  readonly data: SlottedData;
  readonly shards: ReadonlyMap<number, postgres.Sql>;
  /** Publishes a map where the functions read it (Secrets Manager); may hold one back, as every shard has its copy already; versions only go up. */
  readonly publish: (map: SlotMap) => Promise<void>;
  /** How long a fenced slot may wait for the reservations on it to be decided before the move gives up on it for now. */
  readonly drainLimitMs: number;
  readonly sleep: (ms: number) => Promise<void>;
  /**
   * Proves this mover still holds its service's lease (`MoverLease.confirm`), or throws: before
   * every fence, every fence lifted and every hand-over, so a mover whose lease went with a reset
   * connection stops before it touches a slot another mover may be handling.
   */
  readonly confirmLease: () => Promise<void>;
}

/** A slot a hand-over was to copy is no longer fenced on its source: another mover settled it. */
export class SlotTakenOverError extends Error {
  override readonly name = 'SlotTakenOverError';
}

export type MoveResult =
  | { readonly moved: true; readonly map: SlotMap; readonly pauseMs: number }
  | { readonly moved: false; readonly reason: string };

/**
 * Hands one slot from one shard to another, the way Redis Cluster migrates a slot, with the
 * source's own `owned_slots` row as the lock that keeps the owner unambiguous:
 *
 * 1. fence (`fenceSlot`): the source marks the slot fenced. It waits for every batch and request
 *    holding the slot (all work on the slot takes a shared lock on it), and everything after it
 *    is refused as moved, so from here on nothing new starts on the slot anywhere.
 * 2. drain: wait until nothing in flight holds the slot (`SlottedData.busy`): for stock and
 *    payment, every transaction that prepared on it is decided and its decision applied here; for
 *    orders, every transaction of its orders is decided and acknowledged by every participant
 *    (votes and acknowledgements still apply to a fenced slot, so it drains). Too long (a
 *    participant or coordinator down): the fence is lifted and the slot is tried again later, so
 *    a slot never pauses for long.
 * 3. copy: the target, in one transaction, marks the slot incoming and replaces its rows of the
 *    slot with the source's (which cannot change while fenced): redoing it is harmless.
 * 4. publish the map with the slot on the target.
 * 5. the target owns the slot; 6. the source forgets it (rows and row of `owned_slots` together).
 *
 * The participation records (the dedup log) stay where they are: an instruction names its
 * participant shard, not a slot, and every transaction that touched the slot was decided and
 * applied before step 3, so whatever still reaches the source is a late copy it answers from its
 * records. An order slot carries its 2PC log along: every entry in it is complete, so a late
 * vote or acknowledgement changes nothing wherever it lands (`results-handler.ts` routes one the old
 * owner no longer knows by a newer map). Every step is idempotent and `resumeMoves` finishes or undoes a move cut anywhere.
 */
export async function moveSlot(context: MoveContext, map: SlotMap, move: SlotMove): Promise<MoveResult> {
  const source = shard(context, move.from);
  // Throws unless the target is known too, before the source is fenced: a fence with nowhere to
  // hand the slot would refuse it until resumeMoves undid the move.
  shard(context, move.to);
  const started = Date.now();
  await context.confirmLease();
  const fence = await fenceSlot(source, move.slot);
  if (fence === 'busy')
    return { moved: false, reason: `slot ${move.slot} was held by a long transaction (a batch_init?) for over ${FENCE_WAIT_MS} ms` };
  if (fence === 'not owned') {
    const [state] = await source<{ state: string }[]>`select state from owned_slots where slot = ${move.slot}`;
    return { moved: false, reason: `shard ${move.from} does not own slot ${move.slot} (${state?.state ?? 'not there'})` };
  }
  if (!(await drained(context, source, move.slot))) {
    await context.confirmLease();
    await source`update owned_slots set state = 'owned' where slot = ${move.slot} and state = 'fenced'`;
    return { moved: false, reason: `slot ${move.slot} still holds ${context.data.busy.what} after ${context.drainLimitMs} ms` };
  }
  const next = await handOver(context, map, move);
  return { moved: true, map: next, pauseMs: Date.now() - started };
}

/**
 * Steps 3 to 6, for a slot fenced and drained on the source, inside one source transaction that
 * holds the slot's `owned_slots` row locked from the check that it is still fenced to the moment
 * the source forgets it: no other mover can lift the fence meanwhile (its update waits), so the
 * rows copied are the rows forgotten, and no write can land on the source between the two.
 */
async function handOver(context: MoveContext, map: SlotMap, move: SlotMove): Promise<SlotMap> {
  const source = shard(context, move.from);
  const target = shard(context, move.to);
  const { tables } = context.data;
  return source.begin(async (held) => {
    const [fence] = await held<{ state: string }[]>`select state from owned_slots where slot = ${move.slot} for update`;
    if (fence?.state !== 'fenced')
      throw new SlotTakenOverError(
        `slot ${move.slot} is ${fence?.state ?? 'not there'} on shard ${move.from}, no longer fenced for this move: another mover settled it; ` +
          'see npm run shards -- status and run the command again',
      );
    await context.confirmLease();
    const rows: Record<string, unknown>[][] = [];
    for (const { table } of tables)
      rows.push(await held<Record<string, unknown>[]>`select * from ${held(table)} where slot = ${move.slot}`);
    await target.begin(async (tx) => {
      const [state] = await tx<{ state: string }[]>`select state from owned_slots where slot = ${move.slot} for update`;
      if (state?.state === 'owned') return;
      await tx`insert into owned_slots (slot, state, since_version) values (${move.slot}, 'incoming', ${map.version + 1})
               on conflict (slot) do update set state = 'incoming'`;
      await forgetRows(tx, context.data, move.slot);
      for (const [index, { table }] of tables.entries()) {
        const tableRows = rows[index]!;
        for (let start = 0; start < tableRows.length; start += COPY_CHUNK) {
          await tx`insert into ${tx(table)} ${tx(tableRows.slice(start, start + COPY_CHUNK) as never)}`;
        }
      }
    });
    // A move resumed after its publication finds the map saying so already.
    const next = ownerOfSlot(move.slot, map) === move.to ? map : withSlotMoved(map, move.slot, move.to);
    await saveMapCopies(context.shards.values(), next);
    await context.publish(next);
    await target`update owned_slots set state = 'owned', since_version = ${next.version} where slot = ${move.slot}`;
    await context.confirmLease();
    await forgetRows(held, context.data, move.slot);
    await held`delete from owned_slots where slot = ${move.slot}`;
    return next;
  }) as Promise<SlotMap>;
}

async function forgetRows(tx: postgres.TransactionSql, data: SlottedData, slot: number): Promise<void> {
  for (const { table } of [...data.tables].reverse()) await tx`delete from ${tx(table)} where slot = ${slot}`;
}

async function drained(context: MoveContext, source: postgres.Sql, slot: number): Promise<boolean> {
  const until = Date.now() + context.drainLimitMs;
  for (let pause = 5; ; pause = Math.min(pause * 2, 50)) {
    const { table, where } = context.data.busy;
    const [busy] = await source<
      { busy: boolean }[]
    >`select exists (select 1 from ${source(table)} where slot = ${slot} and ${source.unsafe(where)}) as busy`;
    if (!busy!.busy) return true;
    if (Date.now() > until) return false;
    await context.sleep(pause);
  }
}

function shard(context: MoveContext, number: number): postgres.Sql {
  const sql = context.shards.get(number);
  if (!sql) throw new Error(`shard ${number} is not reachable`);
  return sql;
}

/**
 * Finishes or undoes every move a crash cut short, from what the shards say (the truth; the map
 * is only a copy): a slot owned by its target is forgotten by its source; a slot fenced on its
 * source and incoming on a target is handed over (it was drained before it was copied); a slot
 * fenced with no target yet is given back to its source; a copy on a target whose source still
 * owns the slot is thrown away. Returns the map, published.
 */
export async function resumeMoves(context: MoveContext, map: SlotMap): Promise<{ map: SlotMap; finished: SlotMove[]; undone: number[] }> {
  const unsettled = new Set<number>();
  for (const sql of context.shards.values()) {
    for (const row of await sql<{ slot: number }[]>`select slot from owned_slots where state <> 'owned'`) unsettled.add(row.slot);
  }
  let current = map;
  const finished: SlotMove[] = [];
  const undone: number[] = [];
  for (const slot of unsettled) {
    const byShard = new Map<number, string>();
    for (const [number, sql] of context.shards) {
      const [row] = await sql<{ state: string }[]>`select state from owned_slots where slot = ${slot}`;
      if (row) byShard.set(number, row.state);
    }
    const holder = (state: string) => [...byShard].find(([, s]) => s === state)?.[0];
    const fenced = holder('fenced');
    const incoming = holder('incoming');
    const owned = holder('owned');
    if (fenced !== undefined && (incoming !== undefined || owned !== undefined)) {
      const move = { slot, from: fenced, to: (incoming ?? owned)! };
      current = await handOver(context, current, move);
      finished.push(move);
    } else if (fenced !== undefined) {
      await context.confirmLease();
      await shard(context, fenced)`update owned_slots set state = 'owned' where slot = ${slot} and state = 'fenced'`;
      undone.push(slot);
    } else if (incoming !== undefined && owned !== undefined) {
      await context.confirmLease();
      await shard(context, incoming).begin(async (tx) => {
        await forgetRows(tx, context.data, slot);
        await tx`delete from owned_slots where slot = ${slot} and state = 'incoming'`;
      });
      undone.push(slot);
    }
  }
  await context.publish(current);
  return { map: current, finished, undone };
}
