import type { ShardedService } from '../config/services';

/** The JSON each database's secret holds, as RDS-managed secrets do. */
export interface DatabaseSecret {
  readonly host: string;
  readonly port: number;
  readonly username: string;
  readonly password: string;
  readonly dbname: string;
}

/** The databases of the system: a sharded service, or the event-source probe's own. */
export type DatabaseName = ShardedService | 'probe';

/** Where one shard's credentials are kept: `<prefix>/db/<database>-<shard>` (probe: no shard). */
export function databaseSecretName(prefix: string, database: DatabaseName, shard = 0): string {
  return database === 'probe' ? `${prefix}/db/probe` : `${prefix}/db/${database}-${shard}`;
}

/** A type guard for a secret's parsed value: the functions trust nothing they did not check. */
export function isDatabaseSecret(value: unknown): value is DatabaseSecret {
  if (typeof value !== 'object' || value === null) return false;
  const secret = value as Record<string, unknown>;
  return (
    typeof secret.host === 'string' &&
    (typeof secret.port === 'number' || typeof secret.port === 'string') &&
    typeof secret.username === 'string' &&
    typeof secret.password === 'string' &&
    typeof secret.dbname === 'string'
  );
}
