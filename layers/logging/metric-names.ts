/**
 * The names the functions' metrics (metrics.ts) and the alarms watching them
 * (infra/deploy/alarms.ts) share; no code runs on import, so the deploy reads them too.
 */
export const METRICS_NAMESPACE = 'Shop';

export const METRIC = {
  /** A record parked on the dead-letter topic (layers/kafka/dead-letters.ts). */
  deadLetters: 'DeadLetters',
  /** Transactions a resolver pass found undecided past their deadline, and aborted. */
  undecidedPastDeadline: 'UndecidedPastDeadline',
  /** After a pass's aborts, how long ago the oldest transaction still undecided was claimed. */
  oldestUndecidedAgeMs: 'OldestUndecidedAgeMs',
} as const;

/** Every metric's dimensions besides Powertools' own `service` (POWERTOOLS_SERVICE_NAME). */
export function metricDimensions(env: NodeJS.ProcessEnv = process.env): { stage: string } {
  return { stage: env.STAGE || 'local' };
}
