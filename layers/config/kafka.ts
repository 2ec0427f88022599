import { MSK_CLUSTER_ARN } from './msk-arn';

/**
 * Where the functions find Kafka: a list of brokers (the local stack, or any cluster reached
 * without authentication), or an Amazon MSK cluster, reached over TLS with IAM authentication at
 * the bootstrap brokers the deploy passes in (empty only in the setup function, which looks them
 * up: it is what hands them to the deploy).
 */
export type KafkaConnection =
  | { readonly kind: 'brokers'; readonly brokers: readonly string[] }
  | { readonly kind: 'msk-iam'; readonly clusterArn: string; readonly region: string; readonly brokers: readonly string[] };

/** Reads `KAFKA_CLUSTER_ARN` (MSK) and `KAFKA_BROKERS`; fails naming the variable that is wrong. */
export function kafkaConnection(env: NodeJS.ProcessEnv = process.env): KafkaConnection {
  const brokers = (env.KAFKA_BROKERS ?? '')
    .split(',')
    .map((broker) => broker.trim())
    .filter(Boolean);
  const clusterArn = env.KAFKA_CLUSTER_ARN?.trim();
  if (clusterArn) {
    const region = MSK_CLUSTER_ARN.exec(clusterArn)?.[1];
    if (!region) throw new Error(`environment variable KAFKA_CLUSTER_ARN=${clusterArn} is not an MSK cluster ARN`);
    return { kind: 'msk-iam', clusterArn, region, brokers };
  }
  if (brokers.length === 0) throw new Error('environment variable KAFKA_BROKERS or KAFKA_CLUSTER_ARN must be set');
  return { kind: 'brokers', brokers };
}

/** The client id of a container's producer: `shop-` and the function's name (`AWS_LAMBDA_FUNCTION_NAME`). */
export function producerClientId(env: NodeJS.ProcessEnv = process.env): string {
  return `shop-${env.AWS_LAMBDA_FUNCTION_NAME ?? 'function'}`;
}
