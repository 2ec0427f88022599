/**
 * Each shard's own copy of its service's slot map (its `slot_map` row). The mover saves it on
 * every shard with every slot it moves, and publishes to Secrets Manager
 * (`published-slot-maps.ts`) only now and then, so a shard's copy may be newer than the
 * published map. What both copy is what each shard owns (`owned-slots.ts`).
 */
import type postgres from 'postgres';
import { parseSlotMap, type SlotMap } from '../sharding/slots';

/** The newest copy of its service's map this shard was told, if any. */
export async function readMapCopy(sql: postgres.Sql | postgres.TransactionSql): Promise<SlotMap | undefined> {
  const [row] = await sql<{ map: unknown }[]>`select map from slot_map`;
  return row ? parseSlotMap(row.map) : undefined;
}

/**
 * Keeps `map` as this shard's copy unless it holds a newer one, or another map of the same
 * version: false then, for a writer that must not go over someone else's map (compare-and-set on
 * the version, as the mover publishes).
 */
export async function saveMapCopy(sql: postgres.Sql | postgres.TransactionSql, map: SlotMap): Promise<boolean> {
  const saved = await sql`
    insert into slot_map (version, map) values (${map.version}, ${sql.json(map as never)})
    on conflict (only_row) do update set version = excluded.version, map = excluded.map
    where slot_map.version < excluded.version or slot_map.map = excluded.map
    returning version`;
  return saved.length === 1;
}

/** Saves `map` on every shard; throws when one holds a newer map or another of its version (someone else moved slots). */
export async function saveMapCopies(shards: Iterable<postgres.Sql>, map: SlotMap): Promise<void> {
  const saved = await Promise.all([...shards].map((sql) => saveMapCopy(sql, map)));
  if (saved.includes(false)) {
    throw new Error(
      `a shard holds a map newer than v${map.version}, or another v${map.version}: someone else changed the slots meanwhile; see npm run shards -- status and run this again`,
    );
  }
}
