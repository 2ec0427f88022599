import { GetBootstrapBrokersCommand, KafkaClient } from '@aws-sdk/client-kafka';
import { generateAuthToken } from 'aws-msk-iam-sasl-signer-js';
import { Kafka, type KafkaConfig, logLevel } from 'kafkajs';
import { MSK_CLUSTER_ARN } from './msk-arn';

/**
 * Where the functions find Kafka: a list of brokers (the local stack, or any cluster reached
 * without authentication), or an Amazon MSK cluster, reached over TLS with IAM authentication.
 */
export type KafkaConnection =
  | { readonly kind: 'brokers'; readonly brokers: readonly string[] }
  | { readonly kind: 'msk-iam'; readonly clusterArn: string; readonly region: string };

/** Reads `KAFKA_CLUSTER_ARN` (MSK) or else `KAFKA_BROKERS`; fails naming the variable that is wrong. */
export function kafkaConnection(env: NodeJS.ProcessEnv = process.env): KafkaConnection {
  const clusterArn = env.KAFKA_CLUSTER_ARN?.trim();
  if (clusterArn) {
    const region = MSK_CLUSTER_ARN.exec(clusterArn)?.[1];
    if (!region) throw new Error(`environment variable KAFKA_CLUSTER_ARN=${clusterArn} is not an MSK cluster ARN`);
    return { kind: 'msk-iam', clusterArn, region };
  }
  const brokers = (env.KAFKA_BROKERS ?? '')
    .split(',')
    .map((broker) => broker.trim())
    .filter(Boolean);
  if (brokers.length === 0) throw new Error('environment variable KAFKA_BROKERS or KAFKA_CLUSTER_ARN must be set');
  return { kind: 'brokers', brokers };
}

/**
 * MSK does not put its bootstrap brokers in CloudFormation, so a function asks for them once,
 * at the first connection of its container.
 */
async function mskBootstrapBrokers(clusterArn: string, region: string): Promise<string[]> {
  const reply = await new KafkaClient({ region }).send(new GetBootstrapBrokersCommand({ ClusterArn: clusterArn }));
  const brokers = reply.BootstrapBrokerStringSaslIam?.split(',').filter(Boolean) ?? [];
  if (brokers.length === 0) throw new Error(`MSK cluster ${clusterArn} has no IAM-authenticated bootstrap brokers`);
  return brokers;
}

/** The kafkajs settings of one connection; IAM tokens are signed afresh whenever kafkajs re-authenticates. */
export function kafkaClientConfig(connection: KafkaConnection, clientId: string): KafkaConfig {
  const common = {
    clientId,
    logLevel: logLevel.WARN,
    // About 9 s of retries in all, as before, but never more than half a second between two: a
    // send that was waiting out a broker restart used to find the broker back up to 2 s late,
    // and every checkout in flight waited that long on its rollbacks.
    retry: { initialRetryTime: 100, retries: 20, maxRetryTime: 500 },
  };
  if (connection.kind === 'brokers') return { ...common, brokers: [...connection.brokers] };

  const { clusterArn, region } = connection;
  let brokers: Promise<string[]> | undefined;
  return {
    ...common,
    brokers: () =>
      (brokers ??= mskBootstrapBrokers(clusterArn, region).catch((error: unknown) => {
        brokers = undefined;
        throw error;
      })),
    ssl: true,
    sasl: {
      mechanism: 'oauthbearer',
      oauthBearerProvider: async () => ({ value: (await generateAuthToken({ region })).token }),
    },
  };
}

export function kafkaClient(connection: KafkaConnection, clientId: string): Kafka {
  return new Kafka(kafkaClientConfig(connection, clientId));
}
