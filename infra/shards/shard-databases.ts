import postgres from 'postgres';
import { migrate } from '../../layers/db/migrate';
import { loginOf } from '../../layers/db/login';
import type { DatabaseSecret } from '../../layers/db/secrets';
import { sslMode } from '../../layers/config/db';
import { MIGRATIONS_ROOT } from '../postgres/migrations';
import type { ShardedService } from '../../layers/config/services';

/** A connection for the mover: the shard's credentials as its secret holds them; TLS as the functions use it (`DB_SSL`). */
export function connectWith(secret: DatabaseSecret, database = secret.dbname): postgres.Sql {
  const ssl = sslMode();
  return postgres({
    ...loginOf(secret, database),
    max: 2,
    ssl: ssl === 'disable' ? false : ssl,
    onnotice: () => undefined,
  });
}

/**
 * A new shard is a database of its own (`stock_2`) on the server of an existing shard, reached
 * with that shard's login (the local servers' owner; on RDS the master user, which may create
 * databases): the same on one machine and on AWS. Creates it unless it is there, brings its
 * schema up to date, and returns its secret.
 */
export async function createShardDatabase(host: DatabaseSecret, service: ShardedService, shard: number): Promise<DatabaseSecret> {
  const secret = { ...host, dbname: `${service}_${shard}` };
  const admin = connectWith(host, 'postgres');
  try {
    const [exists] = await admin`select 1 from pg_database where datname = ${secret.dbname}`;
    if (!exists) await admin`create database ${admin(secret.dbname)}`;
  } finally {
    await admin.end({ timeout: 1 });
  }
  const sql = connectWith(secret);
  try {
    await migrate(sql, MIGRATIONS_ROOT, service);
  } finally {
    await sql.end({ timeout: 1 });
  }
  return secret;
}

/** Drops a retired shard's database (it owns no slot and holds nothing in flight). */
export async function dropShardDatabase(secret: DatabaseSecret): Promise<void> {
  const admin = connectWith(secret, 'postgres');
  try {
    await admin`drop database if exists ${admin(secret.dbname)} with (force)`;
  } finally {
    await admin.end({ timeout: 1 });
  }
}
