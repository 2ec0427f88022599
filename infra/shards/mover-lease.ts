import os from 'node:os';
import type postgres from 'postgres';

/** The session advisory lock of a service's mover (first key; of the number space of `SLOT_LOCKS`). */
const MOVER_LEASE = 0x510752;

/** A lease that no other mover of the service can take while it is held. */
export interface MoverLease {
  release(): Promise<void>;
}

/** Who holds a lease, as the refusal names them: the command, the process and the host. */
export function moverName(command: string): string {
  // PostgreSQL keeps 63 bytes of an application_name.
  return `npm run shards ${command} (pid ${process.pid} on ${os.hostname()})`.slice(0, 63);
}

/** Another mover holds the service's lease. */
export class MoverBusyError extends Error {}

/**
 * Takes the lease of a service's mover, held until `release` or until the process dies: a
 * session advisory lock on each of the service's shards, taken in ascending order on a
 * connection of its own, whose `application_name` names the holder. PostgreSQL lets the lock go
 * with the session, so the lease of a mover that was killed is free as soon as its connections
 * close, and a mover that is alive is never overtaken. Every shard, not one: two movers of a
 * service always have a shard in common, even when one is removing the lowest.
 *
 * Refused, with the holder named, while another mover holds it.
 */
export async function takeMoverLease(service: string, shards: ReadonlyMap<number, postgres.Sql>, holder: string): Promise<MoverLease> {
  const held: postgres.ReservedSql[] = [];
  const release = async () => {
    await Promise.all(
      held.map(async (session) => {
        try {
          await session`select pg_advisory_unlock(${MOVER_LEASE}, 0)`;
        } finally {
          session.release();
        }
      }),
    );
  };
  try {
    for (const number of [...shards.keys()].sort((a, b) => a - b)) {
      const session = await shards.get(number)!.reserve();
      held.push(session);
      await session`select set_config('application_name', ${holder}, false)`;
      const [lease] = await session<{ taken: boolean }[]>`select pg_try_advisory_lock(${MOVER_LEASE}, 0) as taken`;
      if (lease!.taken) continue;
      held.pop();
      const [other] = await session<{ name: string; since: Date }[]>`
        select activity.application_name as name, activity.backend_start as since
        from pg_locks as lock join pg_stat_activity as activity on activity.pid = lock.pid
        where lock.locktype = 'advisory' and lock.granted and lock.classid = ${MOVER_LEASE} and lock.objid = 0 and lock.objsubid = 2`;
      session.release();
      throw new MoverBusyError(
        `another mover is changing ${service}'s shards: ${other ? `${other.name}, since ${other.since.toISOString()}` : 'it has just let go, run this again'}; ` +
          'wait for it to finish (or stop it) and run this again: one mover per service at a time',
      );
    }
  } catch (error) {
    await release();
    throw error;
  }
  return { release };
}
