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

/** Topics with an event source mapping; each is read by one consumer group (serverless.yml `consumerGroupId`). */
export const CONSUMED_TOPICS = [TOPICS.stockInstructions, TOPICS.paymentInstructions, TOPICS.results] as const;
/** Every topic a function writes to: the instructions, the votes, and records that did not decode. */
export const PRODUCED_TOPICS = [...CONSUMED_TOPICS, TOPICS.deadLetters] as const;

/** The consumer group of a topic's event source mapping, named so IAM can name it too. */
export function consumerGroupId(parameters: DeployParameters, topic: string): string {
  return `${parameters.service}-${parameters.stage}-${topic}`;
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
  const group = (name: string) => clusterResourceArn(cluster, 'group', consumerGroupId(parameters, name));
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
    { Effect: 'Allow', Action: ['kafka-cluster:DescribeGroup', 'kafka-cluster:AlterGroup'], Resource: CONSUMED_TOPICS.map(group) },
  ];
}
