import os from 'node:os';
import type postgres from 'postgres';

/** The session advisory lock of a service's mover (first key; of the number space of `SLOT_LOCKS`). */
const MOVER_LEASE = 0x510752;

/** A lease that no other mover of the service can take while it is held. */
export interface MoverLease {
  /**
   * Proves the lease is still held on every shard, or throws `MoverLeaseLostError`: a session
   * whose connection was reset (a server restart, a failover, a proxy) lost its advisory lock with
   * it, and another mover may hold the lease now. Called before every step that changes a slot.
   */
  confirm(): Promise<void>;
  /** Lets the lease go on one shard only (one being retired, whose database is about to be dropped). */
  letGo(shard: number): Promise<void>;
  release(): Promise<void>;
}

/** Who holds a lease, as the refusal names them: the command, the process and the host. */
export function moverName(command: string): string {
  // PostgreSQL keeps 63 bytes of an application_name.
  return `npm run shards ${command} (pid ${process.pid} on ${os.hostname()})`.slice(0, 63);
}

/** Another mover holds the service's lease. */
export class MoverBusyError extends Error {
  override readonly name = 'MoverBusyError';
}

/** The mover's lease went with its session: it must stop before changing anything more. */
export class MoverLeaseLostError extends Error {
  override readonly name = 'MoverLeaseLostError';
}

/**
 * Takes the lease of a service's mover, held until `release` or until the process dies: a
 * session advisory lock on each of the service's shards, taken in ascending order on a
 * connection of its own, whose `application_name` names the holder. PostgreSQL lets the lock go
 * with the session, so the lease of a mover that was killed is free as soon as its connections
 * close, and a mover whose sessions live is never overtaken; one whose session was reset learns
 * it from `confirm` before its next step. Every shard, the one being removed too, not one: two
 * movers of a service always have a shard in common.
 *
 * Refused, with the holder named, while another mover holds it.
 */
export async function takeMoverLease(service: string, shards: ReadonlyMap<number, postgres.Sql>, holder: string): Promise<MoverLease> {
  const held = new Map<number, postgres.ReservedSql>();
  const unlock = async (session: postgres.ReservedSql) => {
    try {
      await session`select pg_advisory_unlock(${MOVER_LEASE}, 0)`;
    } finally {
      session.release();
    }
  };
  const release = async () => {
    const sessions = [...held.values()];
    held.clear();
    // A session whose connection is gone has nothing left to unlock.
    await Promise.all(sessions.map((session) => unlock(session).catch(() => undefined)));
  };
  const lost = (shard: number, why: string, cause?: unknown) =>
    new MoverLeaseLostError(
      `the mover lost its lease on ${service}-${shard} (${why}), so another mover may be changing ${service}'s shards: ` +
        'it stopped before changing anything more; see npm run shards -- status and run the command again to resume',
      { cause },
    );
  const confirm = async () => {
    await Promise.all(
      [...held].map(async ([shard, session]) => {
        let holds: boolean;
        try {
          // postgres.js opens a new connection for a reserved session whose connection was lost: a session without the lock.
          const [row] = await session<{ holds: boolean }[]>`
            select exists (
              select 1 from pg_locks
              where locktype = 'advisory' and pid = pg_backend_pid() and granted
                and classid = ${MOVER_LEASE} and objid = 0 and objsubid = 2) as holds`;
          holds = row!.holds;
        } catch (error) {
          throw lost(shard, 'its session cannot be reached', error);
        }
        if (!holds) throw lost(shard, 'its session was reset: a server restart, a failover or a terminated backend');
      }),
    );
  };
  const letGo = async (shard: number) => {
    const session = held.get(shard);
    held.delete(shard);
    if (session) await unlock(session).catch(() => undefined);
  };
  try {
    for (const number of [...shards.keys()].sort((a, b) => a - b)) {
      const session = await shards.get(number)!.reserve();
      held.set(number, session);
      await session`select set_config('application_name', ${holder}, false)`;
      const [lease] = await session<{ taken: boolean }[]>`select pg_try_advisory_lock(${MOVER_LEASE}, 0) as taken`;
      if (lease!.taken) continue;
      held.delete(number);
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
  return { confirm, letGo, release };
}
