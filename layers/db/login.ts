import type { DatabaseSecret } from './secrets';

/**
 * How postgres.js reaches the database a secret names. A secret may list several servers
 * (`host` = `a:5432,b:5433`: a primary and its standby): postgres.js tries each in turn and keeps
 * the one that takes writes (PostgreSQL 14+ says so in its first reply, so this costs no query),
 * which makes a failover a reconnect and nothing more. `read-write`, not `primary`: a standby
 * being promoted is out of recovery before it may take writes, and pg_auto_failover says so with
 * `default_transaction_read_only`, which only `read-write` reads.
 */
export function loginOf(secret: Pick<DatabaseSecret, 'host' | 'port' | 'username' | 'password'>, database: string) {
  return {
    host: secret.host,
    port: Number(secret.port),
    username: secret.username,
    password: secret.password,
    database,
    ...(secret.host.includes(',') ? { target_session_attrs: 'read-write' as const } : {}),
  };
}
