import type middy from '@middy/core';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { Context } from 'aws-lambda';
import { initialSlotMap, newestMap, type SlotMap } from '../sharding/slots';
import { isRefusedLogin } from './refused-login';
import { readDatabaseSecret } from './database-secret-store';
import { type DatabaseName, type DatabaseSecret, databaseSecretName } from './secrets';
import { closePool, type ShardSet, shardSet } from './shards';
import { describe, logger } from '../logging/logger';
import { readMapCopy } from './shard-map-copy';
import { readPublishedSlotMap } from './published-slot-maps';
import { SlotMapCache } from './slot-map-cache';
import type { ShardedService } from '../config/services';
import { type PoolSettings, poolSettings } from '../config/db';

/** The Lambda context once the databases are attached. */
export type DatabaseContext = Context & {
  databases: Readonly<Partial<Record<DatabaseName, ShardSet>>>;
  /** The slot maps of every sharded service, the ones whose databases are not attached too (the coordinator routes by them). */
  slotMaps: SlotMapCache;
};

let client: SecretsManagerClient | undefined;
const secretsClient = (): SecretsManagerClient => (client ??= new SecretsManagerClient({}));

// One per container and prefix: every handler of a process shares what it read.
const slotMapsByPrefix = new Map<string, SlotMapCache>();
const secretCache = new Map<string, Promise<DatabaseSecret>>();

/** The slot maps read from Secrets Manager (`<prefix>/slots/<service>`), shared by the container. */
export function slotMapsFor(secretPrefix: string, shardCounts: Readonly<Partial<Record<ShardedService, number>>>): SlotMapCache {
  let maps = slotMapsByPrefix.get(secretPrefix);
  if (!maps) {
    maps = new SlotMapCache((service) => readPublishedSlotMap(secretsClient(), secretPrefix, service), shardCounts);
    slotMapsByPrefix.set(secretPrefix, maps);
  }
  return maps;
}

function databaseSecret(name: string): Promise<DatabaseSecret> {
  let secret = secretCache.get(name);
  if (!secret) {
    secret = readDatabaseSecret(secretsClient(), name);
    secret.catch(() => secretCache.delete(name));
    secretCache.set(name, secret);
  }
  return secret;
}

/** A shard the map retired: its pool is closed and its credentials forgotten, once. */
function forgetRetired(name: string): void {
  const secret = secretCache.get(name);
  if (!secret) return;
  secretCache.delete(name);
  secret
    .then(closePool)
    .catch((error: unknown) => logger.warn('pool of a retired shard not closed', { secret: name, error: describe(error) }));
}

/**
 * Reads each service's slot map (published in Secrets Manager, kept a few seconds), fetches the
 * credentials of the shards it lists (the same path on AWS and locally) and attaches one pool per
 * shard to `context.databases`. A shard added by a move is picked up with the next map, without a
 * restart. Credentials are kept until a database refuses a login (a rotated password): then they
 * are dropped, and `withLoginRetry` runs the invocation once more, which reads them afresh.
 * Connections already open stay open. Pools open with `pool` (`DB_POOL_MAX`, `DB_SSL`, read when the
 * handler is built).
 */
export function databases(
  secretPrefix: string,
  shardCounts: Readonly<Partial<Record<DatabaseName, number>>>,
  pool: PoolSettings = poolSettings(),
): middy.MiddlewareObj[] {
  const { probe: _probe, ...sharded } = shardCounts;
  const slotMaps = slotMapsFor(secretPrefix, sharded);

  const setOf = async (database: DatabaseName, map: SlotMap): Promise<ShardSet> => {
    for (const shard of map.retired) forgetRetired(databaseSecretName(secretPrefix, database, shard));
    const secrets = await Promise.all(
      map.shards.map(async (shard) => [shard, await databaseSecret(databaseSecretName(secretPrefix, database, shard))] as const),
    );
    const rerouting =
      database === 'probe'
        ? undefined
        : {
            newer: async () => setOf(database, await newerMap(database, map, set)),
            latest: async () => setOf(database, await slotMaps.current(database)),
          };
    const set = shardSet(new Map(secrets), map, pool, rerouting);
    return set;
  };
  /**
   * A map newer than the one a shard refused: the newest of the store's and the copies the
   * service's own shards hold. The mover updates the copies with every slot it moves but publishes
   * to the store only every few seconds (Secrets Manager keeps every version for a day), so a
   * newer map from the store may still be older than the move that made the shard refuse.
   */
  const newerMap = async (database: ShardedService, used: SlotMap, shards: ShardSet): Promise<SlotMap> => {
    const [published, ...copies] = await Promise.all([
      slotMaps.newerThan(database, used.version),
      ...shards.indexes.map((shard) => readMapCopy(shards.at(shard)).catch(() => undefined)),
    ]);
    const newest = newestMap(published, ...copies)!;
    return newest === published ? published : slotMaps.learned(database, newest);
  };
  const attachDatabasesBefore = async (request: middy.Request): Promise<void> => {
    const entries = await Promise.all(
      (Object.keys(shardCounts) as DatabaseName[]).map(async (database) => {
        const map = database === 'probe' ? initialSlotMap(1) : await slotMaps.current(database);
        return [database, await setOf(database, map)] as const;
      }),
    );
    const context = request.context as DatabaseContext;
    context.databases = Object.fromEntries(entries);
    context.slotMaps = slotMaps;
  };

  const rereadAfterRefusedLogin = async (request: middy.Request): Promise<void> => {
    if (!isRefusedLogin(request.error)) return;
    secretCache.clear();
    (request.context as LoginAware)[REFUSED_LOGIN] = true;
  };
  return [{ before: attachDatabasesBefore, onError: rereadAfterRefusedLogin }];
}

const REFUSED_LOGIN = Symbol('a database refused a login during this invocation');
type LoginAware = { [REFUSED_LOGIN]?: boolean };

/**
 * Runs a handler built with `databases` once more when a database refused a login during the
 * invocation, now with the secrets read again. Safe because a refused login runs nothing on that
 * connection, and every operation that writes on several shards (checkout, batch_init, the
 * participants' batches) is idempotent. One retry only: a password still refused is reported.
 */
export function withLoginRetry<Event, Result, Ctx extends object>(
  handler: (event: Event, context: Ctx) => Promise<Result>,
): (event: Event, context: Ctx) => Promise<Result> {
  return async (event, context) => {
    const aware = context as Ctx & LoginAware;
    aware[REFUSED_LOGIN] = false;
    try {
      const result = await handler(event, context);
      if (!aware[REFUSED_LOGIN]) return result;
    } catch (error) {
      if (!aware[REFUSED_LOGIN]) throw error;
    }
    aware[REFUSED_LOGIN] = false;
    return handler(event, context);
  };
}

/** The shard set the `databases` middleware attached; its absence is a wiring mistake, reported as such. */
export function required(databases: DatabaseContext['databases'], name: DatabaseName): ShardSet {
  const shards = databases[name];
  if (!shards) throw new Error(`no ${name} databases attached to this handler`);
  return shards;
}
