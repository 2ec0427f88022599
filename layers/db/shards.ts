import postgres from 'postgres';
import type { PoolSettings } from '../config/db';
import { UnavailableError } from '../errors';
import { FUNCTION_SESSION_BOUNDS } from './bounded-locks';
import { loginOf } from './login';
import { logger } from '../logging/logger';
import { ownerOf, type SlotMap, slotOf } from '../sharding/slots';
import type { DatabaseSecret } from './secrets';

/** The shards of one service's database, each a connection pool, picked by id through the service's slot map. */
export interface ShardSet {
  /** The map the routes are computed from; a shard's own `owned_slots` has the last word. */
  readonly map: SlotMap;
  /** The shards that exist, ascending (numbers may have gaps once a shard is retired). */
  readonly indexes: readonly number[];
  at(shard: number): postgres.Sql;
  forId(id: string): postgres.Sql;
  /** The shard `id` is routed to. */
  ownerOf(id: string): number;
  slotOf(id: string): number;
  /** The set routed by a newer map, once a shard refused a route of this one (the same set where no map is published). */
  newer(): Promise<ShardSet>;
  /** The set routed by the container's current map (read again every few seconds): for work that runs longer than one request. */
  latest(): Promise<ShardSet>;
}

/** How a shard set finds newer routes: see `ShardSet.newer` and `ShardSet.latest`. */
export interface Rerouting {
  readonly newer: () => Promise<ShardSet>;
  readonly latest: () => Promise<ShardSet>;
}

/** A shard did not own the slot of a key it was asked about: a stale map, or a move in progress. Retried by `onOwner`. */
export class SlotMovedError extends UnavailableError {
  constructor(what: string) {
    super(`${what} is on a shard being moved; nothing was changed, retry`);
  }
}

/** A moving slot pauses for well under a second: this many tries, pausing a little longer each time, cover it. */
const MOVED_ATTEMPTS = 10;

/**
 * Runs `work` on the shard that owns `id`, by the newest map: when that shard refuses the slot
 * (`SlotMovedError`), the map is read again and the work runs again on the owner it names.
 */
export async function onOwner<T>(
  shards: ShardSet,
  id: string,
  work: (sql: postgres.Sql, slot: number, shards: ShardSet) => Promise<T>,
): Promise<T> {
  return withNewerRoutes(shards, (current) => work(current.forId(id), current.slotOf(id), current));
}

/**
 * Runs `work` with the shard set, again with newer routes each time a shard refuses a slot; not
 * again once `budgetMs` has passed since the first try (work that takes seconds, as a batch_init
 * over every slot, would otherwise outlast any request's bound).
 */
export async function withNewerRoutes<T>(
  shards: ShardSet,
  work: (shards: ShardSet) => Promise<T>,
  budgetMs = Number.POSITIVE_INFINITY,
): Promise<T> {
  const started = Date.now();
  let current = shards;
  for (let attempt = 1; ; attempt++) {
    try {
      return await work(current);
    } catch (error) {
      if (!(error instanceof SlotMovedError) || attempt === MOVED_ATTEMPTS || Date.now() - started > budgetMs) throw error;
      await new Promise((resolve) => setTimeout(resolve, 50 * attempt));
      current = await current.newer();
    }
  }
}

// Pools live as long as the container, keyed by everything that identifies a login, so that a
// rotated password opens a fresh pool instead of failing forever on the old one.
const pools = new Map<string, postgres.Sql>();

/**
 * A COMMIT waiting for its synchronous standby that is cancelled (its statement_timeout, 20 s, far
 * above the ~3 s in which pg_auto_failover stops waiting for a lost standby) still returns success,
 * with this warning: committed here, perhaps on no standby. Nothing can tell which statement it
 * was, so it is logged as an error for a person to see; the other notices mean nothing here.
 */
function reportUnreplicatedCommit(notice: postgres.Notice): void {
  if (String(notice.message).startsWith('canceling wait for synchronous replication'))
    logger.error('a commit was acknowledged without its standby: it is lost if this primary is lost before the standby catches up', {
      notice: notice.message,
      detail: notice.detail,
    });
}

/**
 * Seconds before a pool's connection that failed tries again: at most half a second. postgres.js
 * waits up to 20 s after a few failures in a row (3^n / 100), and a query queued meanwhile waits
 * with it: after a failover's seconds of refused connects, checkouts waited past their function's
 * timeout while the new primary was taking writes.
 */
const reconnectBackoff = (failures: number) => Math.min(0.05 * 2 ** failures, 0.5);

/** The container's pool for a login; `settings` apply when it is opened (they are the same for every pool of a container). */
function poolFor(secret: DatabaseSecret, settings: PoolSettings): postgres.Sql {
  const key = poolKey(secret);
  let pool = pools.get(key);
  if (!pool) {
    pool = postgres({
      ...loginOf(secret, secret.dbname),
      max: settings.max,
      idle_timeout: 60,
      connect_timeout: 10,
      backoff: reconnectBackoff,
      ssl: settings.ssl === 'disable' ? false : settings.ssl,
      onnotice: reportUnreplicatedCommit,
      connection: FUNCTION_SESSION_BOUNDS,
    });
    pools.set(key, pool);
  }
  return pool;
}

/**
 * Closes the pool of a retired shard (its LISTEN connection too, which would otherwise log in
 * again and again once the database is dropped). A pool still in use finishes its queries first.
 */
export async function closePool(secret: DatabaseSecret): Promise<void> {
  const key = poolKey(secret);
  const pool = pools.get(key);
  if (!pool) return;
  pools.delete(key);
  await pool.end({ timeout: 5 });
}

const poolKey = (secret: DatabaseSecret) => `${secret.username}@${secret.host}:${secret.port}/${secret.dbname}#${secret.password}`;

/** Builds the shard set from the slot map and the secrets of the shards it lists, by shard number; new pools open with `pool`. */
export function shardSet(secrets: ReadonlyMap<number, DatabaseSecret>, map: SlotMap, pool: PoolSettings, rerouting?: Rerouting): ShardSet {
  return shardSetOf(new Map([...secrets].map(([shard, secret]) => [shard, poolFor(secret, pool)])), map, rerouting);
}

/** A shard set over pools already open (tools, tests). */
export function shardSetOf(pools: ReadonlyMap<number, postgres.Sql>, map: SlotMap, rerouting?: Rerouting): ShardSet {
  const at = (shard: number): postgres.Sql => {
    const sql = pools.get(shard);
    if (!sql) throw new RangeError(`no shard ${shard} among ${[...pools.keys()].join(', ')}`);
    return sql;
  };
  return {
    map,
    indexes: [...pools.keys()].sort((a, b) => a - b),
    at,
    forId: (id) => at(ownerOf(id, map)),
    ownerOf: (id) => ownerOf(id, map),
    slotOf: (id) => slotOf(id, map),
    newer() {
      return rerouting ? rerouting.newer() : Promise.resolve(this);
    },
    latest() {
      return rerouting ? rerouting.latest() : Promise.resolve(this);
    },
  };
}
