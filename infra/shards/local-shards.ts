import postgres from 'postgres';
import { type DatabaseServer, databaseServers, type StackConfig } from '../config';
import { migrate } from '../../layers/db/migrate';
import type { DatabaseSecret } from '../../layers/db/secrets';
import type { SlottedService } from '../../layers/db/slot-adoption';
import { MIGRATIONS_ROOT } from '../postgres/migrations';
import { readCredentials } from '../postgres/server';

/**
 * Where a shard added to the local stack lives: a database of its own (`stock_2`) on one of its
 * service's servers, dealt round (a shard is a place, not a server). Fixed by its number, so a
 * restart finds it again without anything but the slot map remembering it.
 */
export function localShardPlace(config: StackConfig, service: SlottedService, shard: number): { server: DatabaseServer; dbname: string } {
  const servers = databaseServers(config).filter((server) => server.service === service);
  return { server: servers[shard % servers.length]!, dbname: `${service}_${shard}` };
}

export function localShardSecret(config: StackConfig, service: SlottedService, shard: number): DatabaseSecret {
  const { server, dbname } = localShardPlace(config, service, shard);
  const { username, password } = readCredentials(config.dataDir, server);
  return { host: '127.0.0.1', port: server.port, username, password, dbname };
}

/** Creates the shard's database if it is not there yet and brings its schema up to date; returns its secret. */
export async function createLocalShard(config: StackConfig, service: SlottedService, shard: number): Promise<DatabaseSecret> {
  const secret = localShardSecret(config, service, shard);
  const admin = postgres({ ...secret, database: 'postgres', max: 1, onnotice: () => undefined });
  try {
    const [exists] = await admin`select 1 from pg_database where datname = ${secret.dbname}`;
    if (!exists) await admin`create database ${admin(secret.dbname)}`;
  } finally {
    await admin.end({ timeout: 1 });
  }
  const sql = postgres({ ...secret, database: secret.dbname, max: 1, onnotice: () => undefined });
  try {
    await migrate(sql, MIGRATIONS_ROOT, service);
  } finally {
    await sql.end({ timeout: 1 });
  }
  return secret;
}

/** Drops a retired shard's database (the slot map says it owns nothing and holds nothing in flight). */
export async function dropLocalShard(config: StackConfig, service: SlottedService, shard: number): Promise<void> {
  const secret = localShardSecret(config, service, shard);
  const admin = postgres({ ...secret, database: 'postgres', max: 1, onnotice: () => undefined });
  try {
    await admin`drop database if exists ${admin(secret.dbname)} with (force)`;
  } finally {
    await admin.end({ timeout: 1 });
  }
}
