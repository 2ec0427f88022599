import postgres from 'postgres';
import { databaseServers } from '../../../infra/config';
import { MIGRATIONS_ROOT } from '../../../infra/postgres/migrations';
import { readCredentials } from '../../../infra/postgres/server';
import { loginOf } from '../../../layers/db/login';
import { migrate } from '../../../layers/db/migrate';
import { stackConfig } from './stack';
import type { ShardedService } from '../../../layers/config/services';

/**
 * Databases of `service`'s schema on the stack's `<service>-0` server, made before the file's
 * tests and dropped after them: no function of the stack reads or writes them, so a test can
 * depend on all they hold. Each is named after its role and the test process.
 */
export function scratchDatabases(service: ShardedService, roles: readonly string[]): () => postgres.Sql[] {
  const logins = scratchLogins(service, roles);
  const names = logins.map(({ database }) => database);
  const connect = (database: string) => postgres({ ...loginOf(logins[0]!, database), max: 2, onnotice: () => undefined });
  const admin = connect('postgres');
  let databases: postgres.Sql[] | undefined;

  beforeAll(async () => {
    for (const name of names) await admin`create database ${admin(name)}`;
    databases = names.map(connect);
    for (const sql of databases) await migrate(sql, MIGRATIONS_ROOT, service);
  });
  afterAll(async () => {
    // A test may leave a connection cut (a terminated backend): its pool is not waited for past 5 s; the drop forces it out.
    await Promise.all((databases ?? []).map((sql) => sql.end({ timeout: 5 })));
    for (const name of names) await admin`drop database if exists ${admin(name)} with (force)`;
    await admin.end();
  });

  return () => databases!;
}

/** What another process needs to reach the databases `scratchDatabases` makes for the same roles. */
export function scratchLogins(
  service: ShardedService,
  roles: readonly string[],
): { host: string; port: number; username: string; password: string; database: string }[] {
  const server = databaseServers(stackConfig).find((candidate) => candidate.name === `${service}-0`)!;
  const { host, port, username, password } = readCredentials(stackConfig.dataDir, server);
  return roles.map((role) => ({ host, port, username, password, database: `${service}_${role}_${process.pid}` }));
}
