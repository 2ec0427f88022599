import type postgres from 'postgres';
import { callerLock, finishPrepared, SPANNING_GID, spanningGid } from './every-shard-or-none';

const UNDEFINED_OBJECT = '42704';

/**
 * Settles the prepared parts a call spanning shards (`everyShardOrNone`) left behind when its
 * caller died between its PREPAREs and its COMMITs. A part is left alone while its caller's lock
 * on the call's lowest shard is held (it may still decide); once that lock is free, the part is
 * committed if the lowest shard committed its own (its `spanning_commits` row is there), and
 * rolled back otherwise, the lowest's own part first when it is still prepared (the call is then
 * aborted). Run by the order resolver and the participants' retention, over a service's every
 * shard; it forgets decisions older than a day. A shard that cannot be reached fails its own
 * parts only, and a part another settler finished meanwhile counts as settled.
 */
export async function settleSpanningOrphans(
  shards: ReadonlyMap<number, postgres.Sql>,
): Promise<{ settled: number; failed: { shard: number; error: unknown }[] }> {
  let settled = 0;
  const failed: { shard: number; error: unknown }[] = [];
  for (const [shard, sql] of shards) {
    try {
      const parts = await sql<{ gid: string }[]>`
        select gid from pg_prepared_xacts where database = current_database() and gid like ${`${SPANNING_GID}:%`}`;
      for (const { gid } of parts) {
        const [, run, lowestShard] = gid.split(':');
        const lowest = shards.get(Number(lowestShard));
        if (!lowest) throw new Error(`prepared part ${gid} names shard ${lowestShard} as its lowest, which is not in the map`);
        if (!(await callerGone(lowest, run!))) continue;
        const lowestGid = spanningGid(run!, Number(lowestShard), Number(lowestShard));
        const [{ undecided }] = await lowest<[{ undecided: boolean }]>`
          select exists (select 1 from pg_prepared_xacts where gid = ${lowestGid}) as undecided`;
        if (undecided) {
          // Its caller died before the commit that decides: the call is aborted, the deciding part first.
          await finishOnce(lowest, 'rollback', lowestGid);
          if (gid !== lowestGid) await finishOnce(sql, 'rollback', gid);
        } else {
          const [{ committed }] = await lowest<[{ committed: boolean }]>`
            select exists (select 1 from spanning_commits where id = ${run!}) as committed`;
          await finishOnce(sql, committed ? 'commit' : 'rollback', gid);
        }
        settled++;
      }
      await sql`delete from spanning_commits where at < now() - interval '1 day'`;
    } catch (error) {
      failed.push({ shard, error });
    }
  }
  return { settled, failed };
}

/** Whether no session holds the call's caller lock: takes it, and at once lets it go, in one statement. */
async function callerGone(lowest: postgres.Sql, run: string): Promise<boolean> {
  const [{ gone }] = await lowest<[{ gone: boolean }]>`
    select case when pg_try_advisory_lock(${callerLock(run)}::bigint)
                then pg_advisory_unlock(${callerLock(run)}::bigint) else false end as gone`;
  return gone;
}

async function finishOnce(sql: postgres.Sql, how: 'commit' | 'rollback', gid: string): Promise<void> {
  await finishPrepared(sql, how, gid).catch((error: unknown) => {
    if ((error as { code?: string }).code !== UNDEFINED_OBJECT) throw error;
  });
}
