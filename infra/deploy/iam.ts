import { TOPICS } from '../../layers/kafka/topics';
import type { TemplateString } from './cloudformation';
import { databaseSecretArns } from './databases';
import { clusterResourceArn, mskClusterArn } from './kafka-cluster';
import type { DeployParameters } from './parameters';

export interface Statement {
  readonly Effect: 'Allow';
  readonly Action: readonly string[];
  readonly Resource: readonly TemplateString[];
}

/** The functions with an event source mapping, and the topic each consumes. */
export const CONSUMERS = {
  stockInstructions: TOPICS.stockInstructions,
  paymentInstructions: TOPICS.paymentInstructions,
  orderResults: TOPICS.results,
} as const;
const CONSUMED_TOPICS = Object.values(CONSUMERS);
/** Every topic a function writes to: the instructions, the votes, and records that did not decode. */
export const PRODUCED_TOPICS = [...CONSUMED_TOPICS, TOPICS.deadLetters] as const;

/**
 * The consumer group of a function's event source mapping (serverless.yml `consumerGroupId`):
 * named after the function, as the local event source names its groups, so IAM can name it.
 */
export function consumerGroupId(parameters: DeployParameters, functionKey: string): string {
  return `${parameters.service}-${parameters.stage}-${functionKey}`;
}

/**
 * The functions' permissions beyond their logs, each on named resources: their own database
 * secrets; the MSK cluster's bootstrap brokers; and with IAM authentication, connecting, writing
 * the produced topics, reading the consumed ones as their named groups, and creating the topics
 * (the setup function). Serverless adds the log groups and, for `msk` events, DescribeCluster and
 * the VPC network-interface actions, which EC2 does not let a policy scope.
 */
export function iamStatements(parameters: DeployParameters): Statement[] {
  const cluster = mskClusterArn(parameters);
  const topic = (name: string) => clusterResourceArn(cluster, 'topic', name);
  const group = (functionKey: string) => clusterResourceArn(cluster, 'group', consumerGroupId(parameters, functionKey));
  return [
    { Effect: 'Allow', Action: ['secretsmanager:GetSecretValue'], Resource: databaseSecretArns(parameters) },
    {
      Effect: 'Allow',
      Action: ['kafka:DescribeClusterV2', 'kafka:GetBootstrapBrokers', 'kafka-cluster:Connect', 'kafka-cluster:DescribeClusterDynamicConfiguration'],
      Resource: [cluster],
    },
    {
      Effect: 'Allow',
      Action: ['kafka-cluster:DescribeTopic', 'kafka-cluster:WriteData', 'kafka-cluster:CreateTopic', 'kafka-cluster:AlterTopic'],
      Resource: PRODUCED_TOPICS.map(topic),
    },
    { Effect: 'Allow', Action: ['kafka-cluster:ReadData'], Resource: CONSUMED_TOPICS.map(topic) },
    { Effect: 'Allow', Action: ['kafka-cluster:DescribeGroup', 'kafka-cluster:AlterGroup'], Resource: Object.keys(CONSUMERS).map(group) },
  ];
}
