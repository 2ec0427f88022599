import { DEPLOYED_TOPICS, TOPICS } from '../../layers/kafka/topics';
import type { Resources, TemplateString } from './cloudformation';
import { databaseSecretArns } from './databases';
import { clusterResourceArn, mskClusterArn } from './kafka-cluster';
import type { DeployParameters } from './parameters';

export interface Statement {
  readonly Effect: 'Allow';
  readonly Action: readonly string[];
  readonly Resource: readonly TemplateString[];
}

/**
 * The event source mappings: the function, the topic, and the consumer group's name after the
 * function (serverless.yml `consumerGroupId`; a second mapping of one function adds a suffix).
 */
export const CONSUMERS = [
  { functionKey: 'stockInstructions', topic: TOPICS.stockInstructions, group: 'stockInstructions' },
  { functionKey: 'stockInstructions', topic: TOPICS.stockRetries, group: 'stockInstructions-retries' },
  { functionKey: 'paymentInstructions', topic: TOPICS.paymentInstructions, group: 'paymentInstructions' },
  { functionKey: 'paymentInstructions', topic: TOPICS.paymentRetries, group: 'paymentInstructions-retries' },
  { functionKey: 'orderResults', topic: TOPICS.results, group: 'orderResults' },
] as const;
const CONSUMED_TOPICS = CONSUMERS.map((consumer) => consumer.topic);
/** Every topic a function writes to: the instructions, the votes, and records that did not decode. */
const PRODUCED_TOPICS = DEPLOYED_TOPICS;

/**
 * The consumer group of a function's event source mapping (serverless.yml `consumerGroupId`):
 * named after the function, as the local event source names its groups, so IAM can name it.
 */
export function consumerGroupId(parameters: DeployParameters, groupName: string): string {
  return `${parameters.service}-${parameters.stage}-${groupName}`;
}

/**
 * The permissions of the functions' shared role beyond their logs, each on named resources:
 * their own database secrets; the MSK cluster's bootstrap brokers; and with IAM authentication,
 * connecting, writing the produced topics, and reading the consumed ones as their named groups.
 * Serverless adds the log groups and, for `msk` events, DescribeCluster and the VPC
 * network-interface actions, which EC2 does not let a policy scope.
 */
export function iamStatements(parameters: DeployParameters): Statement[] {
  const cluster = mskClusterArn(parameters);
  const topic = (name: string) => clusterResourceArn(cluster, 'topic', name);
  const group = (groupName: string) => clusterResourceArn(cluster, 'group', consumerGroupId(parameters, groupName));
  return [
    { Effect: 'Allow', Action: ['secretsmanager:GetSecretValue'], Resource: databaseSecretArns(parameters) },
    {
      Effect: 'Allow',
      Action: ['kafka:DescribeClusterV2', 'kafka:GetBootstrapBrokers', 'kafka-cluster:Connect', 'kafka-cluster:DescribeClusterDynamicConfiguration'],
      Resource: [cluster],
    },
    { Effect: 'Allow', Action: ['kafka-cluster:DescribeTopic', 'kafka-cluster:WriteData'], Resource: PRODUCED_TOPICS.map(topic) },
    { Effect: 'Allow', Action: ['kafka-cluster:ReadData'], Resource: CONSUMED_TOPICS.map(topic) },
    { Effect: 'Allow', Action: ['kafka-cluster:DescribeGroup', 'kafka-cluster:AlterGroup'], Resource: CONSUMERS.map((consumer) => group(consumer.group)) },
  ];
}

export const SETUP_ROLE = 'SetupRole';

/**
 * The setup function's own role: the only one that may create and grow topics. It reads the
 * secrets and writes its own log group; it needs no data access to Kafka, and its network
 * interfaces are managed with the same unscopable EC2 actions as the other functions'.
 */
export function setupRoleResource(parameters: DeployParameters): Resources {
  const cluster = mskClusterArn(parameters);
  const logGroup = `arn:\${AWS::Partition}:logs:\${AWS::Region}:\${AWS::AccountId}:log-group:/aws/lambda/${parameters.service}-${parameters.stage}-setup`;
  const statements: Statement[] = [
    { Effect: 'Allow', Action: ['logs:CreateLogStream', 'logs:PutLogEvents'], Resource: [{ 'Fn::Sub': `${logGroup}:*` }] },
    { Effect: 'Allow', Action: ['secretsmanager:GetSecretValue'], Resource: databaseSecretArns(parameters) },
    { Effect: 'Allow', Action: ['kafka:GetBootstrapBrokers', 'kafka-cluster:Connect'], Resource: [cluster] },
    {
      Effect: 'Allow',
      Action: ['kafka-cluster:DescribeTopic', 'kafka-cluster:CreateTopic', 'kafka-cluster:AlterTopic'],
      Resource: PRODUCED_TOPICS.map((name) => clusterResourceArn(cluster, 'topic', name)),
    },
    {
      Effect: 'Allow',
      Action: [
        'ec2:CreateNetworkInterface',
        'ec2:DescribeNetworkInterfaces',
        'ec2:DescribeSubnets',
        'ec2:DeleteNetworkInterface',
        'ec2:AssignPrivateIpAddresses',
        'ec2:UnassignPrivateIpAddresses',
      ],
      Resource: ['*'],
    },
  ];
  return {
    [SETUP_ROLE]: {
      Type: 'AWS::IAM::Role',
      Properties: {
        AssumeRolePolicyDocument: {
          Version: '2012-10-17',
          Statement: [{ Effect: 'Allow', Principal: { Service: ['lambda.amazonaws.com'] }, Action: ['sts:AssumeRole'] }],
        },
        Policies: [{ PolicyName: `${parameters.service}-${parameters.stage}-setup`, PolicyDocument: { Version: '2012-10-17', Statement: statements } }],
      },
    },
  };
}
