import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type postgres from 'postgres';
import { initialSlotMap, type SlotMap } from '../sharding/slots';
import { adoptInitialSlots, fillSlots, readMapCopy } from './owned-slots';
import { publishSlotMap, readPublishedSlotMap } from './slot-map-store';

/** The services whose keys live in hash slots, and the table each one's slots hold. */
export const SLOTTED_SERVICES = { stock: { table: 'items', id: 'item_id' }, payment: { table: 'users', id: 'user_id' } } as const;
export type SlottedService = keyof typeof SLOTTED_SERVICES;

/**
 * Brings a service's slot map into being and keeps it published, at every start or deploy:
 * - a service that has none anywhere (a new stack, or one from before slots) adopts the initial
 *   map of its shard count — every row stays where it is — and publishes it;
 * - otherwise the newest of the published map and the shards' own copies is published again
 *   (the local Secrets Manager forgets everything when it stops; the shards remember).
 * Rows without a slot (written by a release from before slots) are given theirs.
 */
export async function ensureSlotMap(
  service: SlottedService,
  { shards, shardCount, secrets, prefix }: { shards: ReadonlyMap<number, postgres.Sql>; shardCount: number; secrets: SecretsManagerClient; prefix: string },
): Promise<SlotMap> {
  const table = SLOTTED_SERVICES[service];
  const known = [await readPublishedSlotMap(secrets, prefix, service), ...(await Promise.all([...shards.values()].map(readMapCopy)))];
  let map = known.reduce<SlotMap | undefined>((newest, candidate) => (candidate && (!newest || candidate.version > newest.version) ? candidate : newest), undefined);
  if (!map) {
    map = initialSlotMap(shardCount);
    for (const shard of map.shards) {
      const sql = shards.get(shard);
      if (!sql) throw new Error(`${service} shard ${shard} is not reachable, so the initial slot map cannot be adopted`);
      await adoptInitialSlots(sql, { shard, map, table });
    }
  }
  await Promise.all([...shards.values()].map((sql) => fillSlots(sql, { table, slotCount: map.slotCount })));
  await publishSlotMap(secrets, prefix, service, map);
  return map;
}
