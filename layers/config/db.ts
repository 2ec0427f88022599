import { intEnv } from './env';

const SSL_MODES = ['disable', 'require', 'verify-full'] as const;
export type SslMode = (typeof SSL_MODES)[number];

/** `DB_SSL`: RDS refuses unencrypted connections; the local servers have no certificate. */
export function sslMode(env: NodeJS.ProcessEnv = process.env): SslMode {
  const mode = env.DB_SSL || 'disable';
  if (!(SSL_MODES as readonly string[]).includes(mode)) {
    throw new Error(`environment variable DB_SSL=${mode} is not one of ${SSL_MODES.join(', ')}`);
  }
  return mode as SslMode;
}

/** How a container's shard pools connect: the same for every pool it opens. */
export interface PoolSettings {
  /** Connections per pool, that is per shard (`DB_POOL_MAX`). */
  readonly max: number;
  readonly ssl: SslMode;
}

/**
 * Reads `DB_POOL_MAX` and `DB_SSL`. A Lambda container serves one invocation at a time, so a pool
 * needs few connections (two let one invocation overlap queries on a shard). Two serve a process
 * running many invocations at once as well (serverless-offline in process): postgres.js pipelines
 * their statements on them, and a server process handed several statements per wake-up costs less
 * than eight that are each handed one (docs/performance.md, 'Levers'). The price, in process only:
 * while a stock or payment batch_init holds one of them (seconds, for a million rows), that
 * function's other statements on the shard share the other one.
 */
export function poolSettings(env: NodeJS.ProcessEnv = process.env): PoolSettings {
  return { max: intEnv('DB_POOL_MAX', 2, 1, 100, env), ssl: sslMode(env) };
}
