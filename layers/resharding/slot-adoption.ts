import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type postgres from 'postgres';
import { initialSlotMap, newestMap, type SlotMap, slotsOwnedBy } from '../sharding/slots';
import { readMapCopy, saveMapCopy } from '../db/shard-map-copy';
import { publishSlotMap, readPublishedSlotMap } from '../db/published-slot-maps';
import type { ShardedService } from '../config/services';

/** A table whose rows live in hash slots: each row's slot is the hash of its `id` column. */
export interface SlottedTable {
  readonly table: string;
  readonly id: string;
}

/** What a service keeps in its slots, and when a slot is free to move. */
export interface SlottedData {
  /** Copied in this order, deleted in the reverse one. */
  readonly tables: readonly SlottedTable[];
  /**
   * A fenced slot moves once no row of `table` in it matches `where` (a constant, never input):
   * nothing in flight holds it. `what` names what holds it, for the mover's progress.
   */
  readonly busy: { readonly table: string; readonly where: string; readonly what: string };
}

/** A write's idempotency key lives in the slot of the row it wrote (`layers/db/idempotency.ts`). */
const IDEMPOTENCY_KEYS: SlottedTable = { table: 'idempotency_keys', id: 'written_id' };

/**
 * The services whose keys live in hash slots. An order's transactions share its slot (hashed by
 * order id), so its 2PC log moves with it; an order slot is busy while one of them is undecided
 * or not acknowledged by every participant, a stock or payment slot while anything is in escrow.
 */
export const SLOTTED_SERVICES = {
  order: {
    tables: [{ table: 'orders', id: 'order_id' }, { table: 'transactions', id: 'order_id' }, IDEMPOTENCY_KEYS],
    busy: { table: 'transactions', where: 'completed_at is null', what: 'transactions not yet acknowledged by every participant' },
  },
  stock: {
    tables: [{ table: 'items', id: 'item_id' }, IDEMPOTENCY_KEYS],
    busy: { table: 'items', where: 'held <> 0', what: 'reservations' },
  },
  payment: {
    tables: [{ table: 'users', id: 'user_id' }, IDEMPOTENCY_KEYS],
    busy: { table: 'users', where: 'held <> 0', what: 'reservations' },
  },
} as const satisfies Record<ShardedService, SlottedData>;

/**
 * Brings a service's slot map into being and keeps it published, at every start or deploy:
 * - a service that has none anywhere (a new stack, or one from before slots) adopts the initial
 *   map of its shard count — every row stays where it is — and publishes it;
 * - otherwise the newest of the published map and the shards' own copies is published again
 *   (the local Secrets Manager forgets everything when it stops; the shards remember).
 * Rows without a slot (written by a release from before slots) are given theirs.
 */
export async function ensureSlotMap(
  service: ShardedService,
  {
    shards,
    shardCount,
    secrets,
    prefix,
  }: { shards: ReadonlyMap<number, postgres.Sql>; shardCount: number; secrets: SecretsManagerClient; prefix: string },
): Promise<SlotMap> {
  const { tables } = SLOTTED_SERVICES[service];
  let map = newestMap(await readPublishedSlotMap(secrets, prefix, service), ...(await Promise.all([...shards.values()].map(readMapCopy))));
  if (!map) {
    map = initialSlotMap(shardCount);
    for (const shard of map.shards) {
      const sql = shards.get(shard);
      if (!sql) throw new Error(`${service} shard ${shard} is not reachable, so the initial slot map cannot be adopted`);
      await adoptInitialSlots(sql, { shard, map, tables });
    }
  }
  await Promise.all([...shards.values()].map((sql) => fillSlots(sql, { tables, slotCount: map.slotCount })));
  await publishSlotMap(secrets, prefix, service, map);
  return map;
}

const BACKFILL_SLICE = 20_000;

/**
 * Makes a shard from before slots own its slots under the initial map (which keeps every row
 * where it is) and gives its rows their slot. Runs once per shard: a shard that owns slots or
 * keeps a map copy was adopted before, or was created by the mover, and is left as it is. The
 * rows are filled in slices, so the table is never locked for long while the shop runs.
 */
export async function adoptInitialSlots(
  sql: postgres.Sql,
  { shard, map, tables }: { shard: number; map: SlotMap; tables: readonly SlottedTable[] },
): Promise<boolean> {
  const adopted = await sql.begin(async (tx) => {
    await tx`lock table owned_slots in exclusive mode`;
    const [known] = await tx<{ any: boolean }[]>`select exists (select 1 from owned_slots) or exists (select 1 from slot_map) as any`;
    if (known!.any) return false;
    const slots = slotsOwnedBy(map, shard);
    await tx`insert into owned_slots (slot, state, since_version) select slot, 'owned', ${map.version} from unnest(${tx.array(slots)}::int[]) as slot`;
    await saveMapCopy(tx, map);
    return true;
  });
  await fillSlots(sql, { tables, slotCount: map.slotCount });
  return adopted;
}

/** Gives every row without a slot its slot (rows written before slots, or by an older release still running). */
export async function fillSlots(
  sql: postgres.Sql,
  { tables, slotCount }: { tables: readonly SlottedTable[]; slotCount: number },
): Promise<void> {
  for (const table of tables) {
    for (;;) {
      const filled = await sql`
        update ${sql(table.table)} set slot = fnv1a(${sql(table.id)}) % ${slotCount}
        where ctid = any(array(select ctid from ${sql(table.table)} where slot is null limit ${BACKFILL_SLICE}))`;
      if (filled.count < BACKFILL_SLICE) break;
    }
  }
}
