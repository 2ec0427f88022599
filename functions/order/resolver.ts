import middy from '@middy/core';
import { intEnv } from '../../layers/config/env';
import { serviceConfig } from '../../layers/config/service';
import { type DatabaseContext, databases } from '../../layers/db/middleware';
import { required } from '../../layers/http/api-handler';
import { type Outbox, sendOutbox } from '../../layers/kafka/producer';
import { abortExpired, owedDecisions, queueInstructions } from './coordination';

const config = serviceConfig();
/** How long one invocation keeps resolving; the schedule starts the next one before this ends. */
const runMs = intEnv('RESOLVER_RUN_MS', 55_000, 0, 900_000);
/** Pause between passes: how late, at most, an expired transaction is aborted. */
const passMs = intEnv('RESOLVER_PASS_MS', 2_000, 100, 60_000);
/** A decision unacknowledged this long is sent again. */
const resendAfterMs = intEnv('RESOLVER_RESEND_AFTER_MS', 3_000, 100, 600_000);
const BATCH = 500;

/**
 * The scheduled resolver: aborts transactions undecided past their deadline and sends again
 * the decisions participants have not acknowledged. A schedule fires at most once a minute, so
 * one invocation runs passes every `passMs` for `runMs`, and nothing waits a minute. Several
 * resolvers at once are safe: expired entries are locked with SKIP LOCKED, and a decision sent
 * twice is harmless.
 */
export const handler = middy<unknown, { aborted: number; resent: number }, Error, DatabaseContext>()
  .use(databases(config.secretPrefix, { order: config.shards.order }))
  .handler(async (_event, context) => {
    const orders = required(context.databases, 'order');
    const until = Date.now() + runMs;
    const totals = { aborted: 0, resent: 0 };
    do {
      const outbox: Outbox = new Map();
      for (let shard = 0; shard < orders.count; shard++) {
        const sql = orders.at(shard);
        const rollbacks = await abortExpired(sql, BATCH);
        const owed = await owedDecisions(sql, resendAfterMs, BATCH);
        totals.aborted += new Set(rollbacks.map((decision) => decision.txnId)).size;
        totals.resent += owed.length;
        queueInstructions(outbox, [...rollbacks, ...owed]);
      }
      await sendOutbox(config.kafka, outbox);
      if (Date.now() + passMs >= until) break;
      await new Promise((resolve) => setTimeout(resolve, passMs));
    } while (Date.now() < until);
    if (totals.aborted + totals.resent > 0) console.log(JSON.stringify({ level: 'info', msg: 'resolver', ...totals }));
    return totals;
  });
