import type postgres from 'postgres';
import { parseSlotMap, type SlotMap, slotsOwnedBy } from '../sharding/slots';
import type { BalanceTable } from './balances';

export type SlotState = 'owned' | 'fenced' | 'incoming';

/** What a shard says of the slots it holds: the truth a slot map is a copy of. */
export async function readOwnedSlots(sql: postgres.Sql): Promise<Map<number, { state: SlotState; sinceVersion: number }>> {
  const rows = await sql<{ slot: number; state: SlotState; since_version: number }[]>`select slot, state, since_version from owned_slots order by slot`;
  return new Map(rows.map((row) => [row.slot, { state: row.state, sinceVersion: row.since_version }]));
}

/** The newest copy of its service's map this shard was told, if any. */
export async function readMapCopy(sql: postgres.Sql | postgres.TransactionSql): Promise<SlotMap | undefined> {
  const [row] = await sql<{ map: unknown }[]>`select map from slot_map`;
  return row ? parseSlotMap(row.map) : undefined;
}

/** Keeps `map` as this shard's copy unless it holds a newer one. */
export async function saveMapCopy(sql: postgres.Sql | postgres.TransactionSql, map: SlotMap): Promise<void> {
  await sql`
    insert into slot_map (version, map) values (${map.version}, ${sql.json(map as never)})
    on conflict (only_row) do update set version = excluded.version, map = excluded.map
    where slot_map.version < excluded.version`;
}

const BACKFILL_SLICE = 20_000;

/**
 * Makes a shard from before slots own its slots under the initial map (which keeps every row
 * where it is) and gives its rows their slot. Runs once per shard: a shard that owns slots or
 * keeps a map copy was adopted before, or was created by the mover, and is left as it is. The
 * rows are filled in slices, so the table is never locked for long while the shop runs.
 */
export async function adoptInitialSlots(sql: postgres.Sql, { shard, map, table }: { shard: number; map: SlotMap; table: Pick<BalanceTable, 'table' | 'id'> }): Promise<boolean> {
  const adopted = await sql.begin(async (tx) => {
    await tx`lock table owned_slots in exclusive mode`;
    const [known] = await tx<{ any: boolean }[]>`select exists (select 1 from owned_slots) or exists (select 1 from slot_map) as any`;
    if (known!.any) return false;
    const slots = slotsOwnedBy(map, shard);
    await tx`insert into owned_slots (slot, state, since_version) select slot, 'owned', ${map.version} from unnest(${tx.array(slots)}::int[]) as slot`;
    await saveMapCopy(tx, map);
    return true;
  });
  await fillSlots(sql, { table, slotCount: map.slotCount });
  return adopted;
}

/** Gives every row without a slot its slot (rows written before slots, or by an older release still running). */
export async function fillSlots(sql: postgres.Sql, { table, slotCount }: { table: Pick<BalanceTable, 'table' | 'id'>; slotCount: number }): Promise<void> {
  for (;;) {
    const filled = await sql`
      update ${sql(table.table)} set slot = fnv1a(${sql(table.id)}) % ${slotCount}
      where ctid = any(array(select ctid from ${sql(table.table)} where slot is null limit ${BACKFILL_SLICE}))`;
    if (filled.count < BACKFILL_SLICE) return;
  }
}
