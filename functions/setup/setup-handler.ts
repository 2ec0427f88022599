import path from 'node:path';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { intEnv } from '../../layers/config/env';
import { serviceConfig } from '../../layers/config/service';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { migrate } from '../../layers/db/migrate';
import { ensureSlotMap, SLOTTED_SERVICES } from '../../layers/resharding/slot-adoption';
import { type DatabaseContext, databases, required } from '../../layers/db/middleware';
import { kafkaClient } from '../../layers/kafka/connection';
import { withMskBrokers } from './msk-brokers';
import { ensureTopics } from '../../layers/kafka/topic-setup';
import { DEPLOYED_TOPICS } from '../../layers/kafka/topics';
import { answerCloudFormation, isCustomResourceEvent } from './cloudformation-response';
import { logger } from '../../layers/logging/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import type { ShardedService } from '../../layers/config/services';

const config = serviceConfig();
const secretsClient = new SecretsManagerClient({});
const partitions = intEnv('KAFKA_PARTITIONS', 8, 1, 1000);
/** The migration files travel in the package beside the bundles (serverless.yml `package.patterns`). */
const migrationsRoot = path.join(process.env.LAMBDA_TASK_ROOT ?? process.cwd(), 'infra/postgres/migrations');

export interface SetupReport {
  /** migration versions applied, by shard ("order-0": ["001_orders"]) */
  readonly migrations: Record<string, string[]>;
  readonly topicsCreated: string[];
  /** The brokers the other functions are given (`SetupRun.BootstrapBrokers`), comma-separated. */
  readonly bootstrapBrokers: string;
}

/** Brings every shard's schema and the Kafka topics up to what this code expects; running it again changes nothing. */
const setup = middy<unknown, SetupReport, Error, DatabaseContext>()
  // Every log line of the invocation carries its Lambda context (function, request id, cold start).
  .use(injectLambdaContext(logger))
  .use(databases(config.secretPrefix, config.shards))
  .handler(async (_event, context) => {
    const migrations: Record<string, string[]> = {};
    for (const service of ['order', 'stock', 'payment'] as const) {
      const shards = required(context.databases, service);
      for (const shard of shards.indexes) {
        migrations[`${service}-${shard}`] = await migrate(shards.at(shard), migrationsRoot, service);
      }
    }
    for (const service of Object.keys(SLOTTED_SERVICES) as ShardedService[]) {
      const shards = required(context.databases, service);
      await ensureSlotMap(service, {
        shards: new Map(shards.indexes.map((shard) => [shard, shards.at(shard)])),
        shardCount: config.shards[service],
        secrets: secretsClient,
        prefix: config.secretPrefix,
      });
    }
    const kafka = await withMskBrokers(config.kafka);
    const admin = kafkaClient(kafka, 'shop-setup').admin();
    await admin.connect();
    try {
      const topicsCreated = await ensureTopics(admin, { topics: DEPLOYED_TOPICS, partitions, replicationFactor: -1 });
      const report = { migrations, topicsCreated, bootstrapBrokers: kafka.brokers.join(',') };
      logger.info('setup', { ...report });
      return report;
    } finally {
      await admin.disconnect();
    }
  });

/** Time kept back from the Lambda timeout to answer CloudFormation after a run that overran. */
const ANSWER_MARGIN_MS = 15_000;

/**
 * Invoked by CloudFormation on every deploy that changes the migrations, topics or shards (the
 * `SetupRun` custom resource, infra/deploy/setup-run.ts), before the event source mappings are
 * created; invoked by hand (`serverless invoke -f setup`), it returns its report.
 */
export async function handler(event: unknown, context: Context): Promise<SetupReport | undefined> {
  // The databases middleware attaches `databases` to the context before the handler runs.
  const withDatabases = context as DatabaseContext;
  if (!isCustomResourceEvent(event)) return setup(event, withDatabases);
  await answerCloudFormation(event, () => setup(event, withDatabases), context.getRemainingTimeInMillis() - ANSWER_MARGIN_MS, {
    data: (report) => ({ BootstrapBrokers: report.bootstrapBrokers }),
  });
  return undefined;
}
