import { GetBootstrapBrokersCommand, KafkaClient } from '@aws-sdk/client-kafka';
import { generateAuthToken } from 'aws-msk-iam-sasl-signer-js';
import { Kafka, type KafkaConfig, logLevel } from 'kafkajs';
import type { KafkaConnection } from '../config/kafka';

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
