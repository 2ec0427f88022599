import type postgres from 'postgres';

/**
 * What a shard's primary says of its standbys. `synchronous`: a standby confirms each commit
 * before it is acknowledged. `unreplicated`: a standby is expected (its replication slot is there)
 * but none streams, so commits are acknowledged with no copy elsewhere — the replicated stack's
 * choice when its standby is lost (pg_auto_failover's `wait_primary`: writes go on rather than
 * block), until the standby is back. `single server`: no standby at all (the light stack; RDS
 * Multi-AZ replicates below PostgreSQL, out of its sight).
 */
export type Replication = 'synchronous' | 'asynchronous' | 'unreplicated' | 'single server';

export async function readReplication(sql: postgres.Sql): Promise<Replication> {
  const [primary] = await sql<{ expected: number; streaming: number; synchronous: boolean }[]>`
    select (select count(*) from pg_replication_slots where slot_type = 'physical')::int as expected,
           (select count(*) from pg_stat_replication where state = 'streaming')::int as streaming,
           current_setting('synchronous_standby_names') <> '' as synchronous`;
  return replicationOf(primary!);
}

export function replicationOf({
  expected,
  streaming,
  synchronous,
}: {
  expected: number;
  streaming: number;
  synchronous: boolean;
}): Replication {
  if (streaming === 0) return expected === 0 ? 'single server' : 'unreplicated';
  return synchronous ? 'synchronous' : 'asynchronous';
}
