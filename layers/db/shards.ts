import postgres from 'postgres';
import { intEnv } from '../config/env';
import { shardOf } from '../sharding/shard';
import type { DatabaseSecret } from './secrets';

/** The shards of one service's database, each a connection pool, picked by id. */
export interface ShardSet {
  readonly count: number;
  at(shard: number): postgres.Sql;
  forId(id: string): postgres.Sql;
}

// Pools live as long as the container, keyed by everything that identifies a login, so that a
// rotated password opens a fresh pool instead of failing forever on the old one.
const pools = new Map<string, postgres.Sql>();

/**
 * A Lambda container serves one invocation at a time, so a pool needs few connections (two let
 * one invocation overlap queries on a shard); a process that serves many at once is given more.
 */
const POOL_SIZE = intEnv('DB_POOL_MAX', 2, 1, 100);

const SSL_MODES = ['disable', 'require', 'verify-full'] as const;
type SslMode = (typeof SSL_MODES)[number];

/** `DB_SSL`: RDS refuses unencrypted connections; the local servers have no certificate. */
export function sslMode(env: NodeJS.ProcessEnv = process.env): SslMode {
  const mode = env.DB_SSL || 'disable';
  if (!(SSL_MODES as readonly string[]).includes(mode)) {
    throw new Error(`environment variable DB_SSL=${mode} is not one of ${SSL_MODES.join(', ')}`);
  }
  return mode as SslMode;
}

const SSL_MODE = sslMode();

function poolFor(secret: DatabaseSecret): postgres.Sql {
  const key = `${secret.username}@${secret.host}:${secret.port}/${secret.dbname}#${secret.password}`;
  let pool = pools.get(key);
  if (!pool) {
    pool = postgres({
      host: secret.host,
      port: Number(secret.port),
      username: secret.username,
      password: secret.password,
      database: secret.dbname,
      max: POOL_SIZE,
      idle_timeout: 60,
      connect_timeout: 10,
      ssl: SSL_MODE === 'disable' ? false : SSL_MODE,
      onnotice: () => undefined,
    });
    pools.set(key, pool);
  }
  return pool;
}

/** Builds the shard set from the shards' secrets, in shard order. */
export function shardSet(secrets: readonly DatabaseSecret[]): ShardSet {
  const shards = secrets.map(poolFor);
  return {
    count: shards.length,
    at(shard) {
      const sql = shards[shard];
      if (!sql) throw new RangeError(`no shard ${shard} of ${shards.length}`);
      return sql;
    },
    forId(id) {
      return this.at(shardOf(id, shards.length));
    },
  };
}
