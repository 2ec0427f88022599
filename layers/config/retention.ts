import { IDEMPOTENCY_RETENTION_S, LOG_RETENTION_S } from './bounds';
import { intEnv } from './env';

/** How long a finished transaction's log entry and participation records are kept (`LOG_RETENTION_S`), in ms. */
export function logRetentionMs(env: NodeJS.ProcessEnv = process.env): number {
  const { fallback, min, max } = LOG_RETENTION_S;
  return intEnv('LOG_RETENTION_S', fallback, min, max, env) * 1000;
}

/** How long a write's Idempotency-Key and reply are kept (`IDEMPOTENCY_RETENTION_S`), in ms. */
export function idempotencyRetentionMs(env: NodeJS.ProcessEnv = process.env): number {
  const { fallback, min, max } = IDEMPOTENCY_RETENTION_S;
  return intEnv('IDEMPOTENCY_RETENTION_S', fallback, min, max, env) * 1000;
}
