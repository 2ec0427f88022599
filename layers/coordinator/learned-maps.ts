import type postgres from 'postgres';
import type { ParticipantService } from '../config/services';
import type { PendingWrites } from '../db/pipelined-transaction';
import { parseSlotMap, type SlotMap } from '../sharding/slots';
import { parseParticipant, type Result } from '../twopc/messages';

/** The participants' slot maps an order shard learned from `moved` votes, by service. */
export type LearnedMaps = Partial<Record<ParticipantService, SlotMap>>;

/**
 * Keeps, on this order shard, the newest map each service's `moved` votes carried (`Vote.map`),
 * for the checkouts whose retry must route by it: the published map lags a mover that holds maps
 * back, and stays behind for good when the mover dies before publishing. Part of the results'
 * local transaction; a map only ever replaces an older one.
 */
export function saveLearnedMaps(tx: postgres.TransactionSql, results: readonly Result[]): PendingWrites {
  const newest = new Map<ParticipantService, SlotMap>();
  for (const result of results) {
    if (result.kind !== 'vote' || !result.map) continue;
    const { service } = parseParticipant(result.participant);
    if ((newest.get(service)?.version ?? -1) < result.map.version) newest.set(service, result.map);
  }
  return [...newest].map(
    ([service, map]) => tx`
      insert into learned_maps (service, version, map) values (${service}, ${map.version}, ${tx.json(map as never)})
      on conflict (service) do update set version = excluded.version, map = excluded.map
      where learned_maps.version < excluded.version`,
  );
}

/** What this order shard learned (`saveLearnedMaps`). */
export async function readLearnedMaps(sql: postgres.Sql): Promise<LearnedMaps> {
  const rows = await sql<{ service: ParticipantService; map: unknown }[]>`select service, map from learned_maps`;
  return Object.fromEntries(rows.map((row) => [row.service, parseSlotMap(row.map)]));
}
