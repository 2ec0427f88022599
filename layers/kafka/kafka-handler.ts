import middy from '@middy/core';
import { type DatabaseContext, databases, withLoginRetry } from '../db/middleware';
import type { DatabaseName } from '../db/secrets';
import type { ShardSet } from '../db/shards';
import { type DecodedRecord, decodeRecords } from './records';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { logger } from '../logging/logger';
import { metrics } from '../logging/metrics';

type Databases = Readonly<Partial<Record<DatabaseName, ShardSet>>>;

/**
 * A Kafka-triggered Lambda handler: the shards' credentials from Secrets Manager, the event
 * checked and decoded, then the whole batch handed over at once; the metrics it adds are flushed
 * at its end. A thrown error fails the batch, which the event source delivers again.
 */
export function kafkaHandler(
  secretPrefix: string,
  shardCounts: Readonly<Partial<Record<DatabaseName, number>>>,
  handle: (records: DecodedRecord[], databases: Databases, event: unknown) => Promise<void>,
) {
  return withLoginRetry(
    middy<unknown, void, Error, DatabaseContext>()
      // Every log line of the invocation carries its Lambda context (function, request id, cold start).
      .use(injectLambdaContext(logger))
      // The batch's metrics (its dead letters) are flushed when it ends, whether it succeeds or fails.
      .use(logMetrics(metrics))
      .use(databases(secretPrefix, shardCounts))
      .handler((event, context) => handle(decodeRecords(event), context.databases, event)),
  );
}
