import { intEnv } from './env';

/**
 * How long a finished transaction's log entry and participation records are kept
 * (`LOG_RETENTION_S`, default an hour). The floor keeps it well above what makes deleting them
 * safe: a late Prepare's margin plus the longest checkout wait (see `lateRefusal`; a unit test
 * holds the two together).
 */
export const MIN_LOG_RETENTION_S = 600;

export function logRetentionMs(env: NodeJS.ProcessEnv = process.env): number {
  return intEnv('LOG_RETENTION_S', 3_600, MIN_LOG_RETENTION_S, 31_536_000, env) * 1000;
}
