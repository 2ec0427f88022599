import middy from '@middy/core';
import { type DatabaseContext, databases, required, withLoginRetry } from '../db/middleware';
import { isRefusedLogin } from '../db/refused-login';
import { forgetSettledParticipations } from './participation-retention';
import { forgetOldKeys } from '../db/idempotency';
import { settleSpanningOrphans } from '../db/spanning-orphans';
import { logger } from '../logging/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import type { ParticipantService } from '../config/services';

const BATCH = 1_000;
/** A run stops starting new batches after this, well inside its schedule's minute. */
const RUN_MS = 45_000;

/**
 * A participant service's scheduled clean-up: on every shard at once, deletes the participation
 * records past the retention window, then the idempotency keys past theirs, in batches of a
 * thousand (short transactions, never holding up the checkouts' batches) until none is left or
 * the run's time is up. A shard that fails is logged and tried again on the next run.
 */
export function retentionHandler(
  secretPrefix: string,
  service: ParticipantService,
  shardCount: number,
  { retentionMs, keyRetentionMs }: { readonly retentionMs: number; readonly keyRetentionMs: number },
) {
  return withLoginRetry(
    middy<unknown, { forgotten: number; failedShards: number }, Error, DatabaseContext>()
      // Every log line of the invocation carries its Lambda context (function, request id, cold start).
      .use(injectLambdaContext(logger))
      .use(databases(secretPrefix, { [service]: shardCount }))
      .handler(async (_event, context) => {
        const shards = required(context.databases, service);
        const until = Date.now() + RUN_MS;
        let forgotten = 0;
        // A batch_init whose caller died between its shards' PREPAREs and COMMITs.
        const orphans = await settleSpanningOrphans(new Map(shards.indexes.map((shard) => [shard, shards.at(shard)])));
        for (const { shard, error } of orphans.failed)
          logger.error('prepared batch_init parts not settled on a shard', { shard: `${service}-${shard}`, error: String(error) });
        if (orphans.settled > 0) logger.warn('prepared batch_init parts settled', { participants: service, orphans: orphans.settled });
        const outcomes = await Promise.allSettled(
          shards.indexes.map(async (shard) => {
            const windows = [
              [forgetSettledParticipations, retentionMs],
              [forgetOldKeys, keyRetentionMs],
            ] as const;
            for (const [forget, windowMs] of windows) {
              for (;;) {
                const deleted = await forget(shards.at(shard), { retentionMs: windowMs, limit: BATCH });
                forgotten += deleted;
                if (Date.now() > until) return;
                if (deleted < BATCH) break;
              }
            }
          }),
        );
        const failed = outcomes.flatMap((outcome, shard) =>
          outcome.status === 'rejected' ? [{ shard: `${service}-${shard}`, error: String(outcome.reason) }] : [],
        );
        for (const failure of failed) logger.error('retention failed on a shard', { ...failure });
        if (forgotten > 0) logger.info('retention', { participants: service, forgotten }); // `service` is the logger's own key
        // A rotated password: fail the run, so that it runs again with the secrets read afresh.
        const refused = outcomes.find(
          (outcome): outcome is PromiseRejectedResult => outcome.status === 'rejected' && isRefusedLogin(outcome.reason),
        );
        if (refused) throw refused.reason;
        return { forgotten, failedShards: failed.length };
      }),
  );
}
