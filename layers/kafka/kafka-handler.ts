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
 * A partial batch response: the records that failed, each by its topic-partition and offset. The
 * event source reads it only when the mapping has `functionResponseTypes: [ReportBatchItemFailures]`;
 * otherwise the batch counts as a success, so a handler returns one only for such a mapping.
 */
export interface KafkaBatchResponse {
  readonly batchItemFailures: readonly { readonly itemIdentifier: { readonly partition: string; readonly offset: number } }[];
}

/**
 * A Kafka-triggered Lambda handler: the shards' credentials from Secrets Manager, the event
 * checked and decoded, then the whole batch handed over at once; the metrics it adds are flushed
 * at its end. A thrown error fails the batch, which the event source delivers again; a partial
 * batch response (`KafkaBatchResponse`, the one reply a Kafka handler gives) fails the records it names.
 */
export function kafkaHandler<Reply = void>(
  secretPrefix: string,
  shardCounts: Readonly<Partial<Record<DatabaseName, number>>>,
  handle: (records: DecodedRecord[], databases: Databases, event: unknown) => Promise<Reply>,
) {
  return withLoginRetry(
    middy<unknown, Reply, Error, DatabaseContext>()
      // Every log line of the invocation carries its Lambda context (function, request id, cold start).
      .use(injectLambdaContext(logger))
      // The batch's metrics (its dead letters) are flushed when it ends, whether it succeeds or fails.
      .use(logMetrics(metrics))
      .use(databases(secretPrefix, shardCounts))
      .handler((event, context) => handle(decodeRecords(event), context.databases, event)),
  );
}
