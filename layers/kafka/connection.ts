import { generateAuthToken } from 'aws-msk-iam-sasl-signer-js';
import { Kafka, type KafkaConfig, logLevel } from 'kafkajs';
import type { KafkaConnection } from '../config/kafka';

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

  const { clusterArn, region, brokers } = connection;
  if (brokers.length === 0) {
    throw new Error(
      `environment variable KAFKA_BROKERS is empty: the deploy passes MSK cluster ${clusterArn}'s bootstrap brokers (the setup run's BootstrapBrokers)`,
    );
  }
  return {
    ...common,
    brokers: [...brokers],
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
