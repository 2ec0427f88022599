import middy from '@middy/core';
import { type DatabaseContext, databases, withLoginRetry } from '../db/middleware';
import type { DatabaseName } from '../db/secrets';
import type { ShardSet } from '../db/shards';
import { type DecodedRecord, decodeRecords } from './records';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logger } from '../logging/logger';

type Databases = Readonly<Partial<Record<DatabaseName, ShardSet>>>;

/**
 * A Kafka-triggered Lambda handler: the shards' credentials from Secrets Manager, the event
 * checked and decoded, then the whole batch handed over at once. A thrown error fails the batch,
 * which the event source delivers again.
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
      .use(databases(secretPrefix, shardCounts))
      .handler((event, context) => handle(decodeRecords(event), context.databases, event)),
  );
}
