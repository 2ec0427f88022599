import middy from '@middy/core';
import { intEnv } from '../../layers/config/env';
import { idempotencyRetentionMs, logRetentionMs } from '../../layers/config/retention';
import { serviceConfig } from '../../layers/config/service';
import { type DatabaseContext, databases, required, withLoginRetry } from '../../layers/db/middleware';
import { isRefusedLogin } from '../../layers/db/refused-login';
import { sendOutbox } from '../../layers/kafka/producer';
import { HOLD_COMMITS_AT_MOST_MS } from '../../layers/coordinator/held-commits';
import { HOLD_ACKS_AT_MOST_MS } from '../../layers/participant/held-acks';
import { publishPassMetrics, resolverPass } from './resolver-pass';
import { describe, logger } from '../../layers/logging/logger';
import { metrics } from '../../layers/logging/metrics';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';

const config = serviceConfig();
/** How long one invocation keeps resolving; the schedule starts the next one before this ends. */
const runMs = intEnv('RESOLVER_RUN_MS', 55_000, 0, 900_000);
/** Pause between passes: how late, at most, an expired transaction is aborted. */
const passMs = intEnv('RESOLVER_PASS_MS', 2_000, 100, 60_000);
/**
 * A decision unacknowledged this long is sent again; each further resend waits twice as long (at
 * most a minute). Never sooner than twice as long as a commit and its acknowledgement may be held
 * back, or every quiet commit would be sent twice.
 */
const resendPauseMs = intEnv('RESOLVER_RESEND_AFTER_MS', 3_000, 2 * (HOLD_COMMITS_AT_MOST_MS + HOLD_ACKS_AT_MOST_MS), 600_000);
const BATCH = 500;
const retentionMs = logRetentionMs();
const keyRetentionMs = idempotencyRetentionMs();

/**
 * The scheduled resolver: aborts transactions undecided past their deadline and sends again
 * the decisions participants have not acknowledged. A schedule fires at most once a minute, so
 * one invocation runs passes every `passMs` for `runMs`, and nothing waits a minute. Several
 * resolvers at once are safe: entries are claimed with SKIP LOCKED, and a decision sent twice is
 * harmless. A pass that fails (a shard or Kafka unreachable) is logged, and the next one tries again.
 * Every pass that completes publishes its metrics (`publishPassMetrics`) for the alarms.
 */
export const handler = withLoginRetry(
  middy<unknown, { aborted: number; resent: number; forgotten: number; failedPasses: number }, Error, DatabaseContext>()
    // Every log line of the invocation carries its Lambda context (function, request id, cold start).
    .use(injectLambdaContext(logger))
    // Each pass publishes its own metrics; whatever is left is flushed when the run ends.
    .use(logMetrics(metrics))
    .use(databases(config.secretPrefix, { order: config.shards.order }))
    .handler(async (_event, context) => {
      let orders = required(context.databases, 'order');
      const until = Date.now() + runMs;
      const totals = { aborted: 0, resent: 0, forgotten: 0, failedPasses: 0 };
      do {
        let refusedLogin: unknown;
        try {
          // An order shard added by `npm run shards` is resolved from the next map read on, within the run.
          orders = await orders.latest();
          const pass = await resolverPass(orders, (outbox) => sendOutbox(config.kafka, outbox), {
            resendPauseMs,
            batch: BATCH,
            retentionMs,
            keyRetentionMs,
          });
          totals.aborted += pass.aborted;
          totals.resent += pass.resent;
          totals.forgotten += pass.forgotten;
          publishPassMetrics(pass);
          for (const { shard, error } of pass.failed) {
            logger.error('resolver pass failed on a shard', { shard: `order-${shard}`, error: describe(error) });
            if (isRefusedLogin(error)) refusedLogin = error;
          }
        } catch (error) {
          totals.failedPasses++;
          logger.error('resolver pass failed', { error: describe(error) });
        }
        // A rotated password: end this run so that it starts again with the secrets read afresh.
        if (refusedLogin) throw refusedLogin;
        if (Date.now() + passMs >= until) break;
        await new Promise((resolve) => setTimeout(resolve, passMs));
      } while (Date.now() < until);
      if (totals.aborted + totals.resent + totals.forgotten + totals.failedPasses > 0) logger.info('resolver', { ...totals });
      return totals;
    }),
);
