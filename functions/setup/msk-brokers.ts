import { GetBootstrapBrokersCommand, KafkaClient } from '@aws-sdk/client-kafka';
import type { KafkaConnection } from '../../layers/config/kafka';

/**
 * MSK does not put its bootstrap brokers in CloudFormation. The setup function looks them up
 * and answers them to the deploy (`SetupRun.BootstrapBrokers`), which passes them to every other
 * function: only this bundle carries the MSK client.
 */
export async function withMskBrokers(connection: KafkaConnection): Promise<KafkaConnection> {
  if (connection.kind !== 'msk-iam') return connection;
  const { clusterArn, region } = connection;
  const reply = await new KafkaClient({ region }).send(new GetBootstrapBrokersCommand({ ClusterArn: clusterArn }));
  const brokers = reply.BootstrapBrokerStringSaslIam?.split(',').filter(Boolean) ?? [];
  if (brokers.length === 0) throw new Error(`MSK cluster ${clusterArn} has no IAM-authenticated bootstrap brokers`);
  return { ...connection, brokers };
}
