import { DEPLOYED_TOPICS, TOPICS } from '../../layers/kafka/topics';
import type { Resources, TemplateString } from './cloudformation';
import { databaseSecretArns, elasticShardSecretArns } from './databases';
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
    {
      Effect: 'Allow',
      Action: ['secretsmanager:GetSecretValue'],
      Resource: [...databaseSecretArns(parameters), ...elasticShardSecretArns(parameters)],
    },
    {
      Effect: 'Allow',
      Action: [
        'kafka:DescribeClusterV2',
        'kafka:GetBootstrapBrokers',
        'kafka-cluster:Connect',
        'kafka-cluster:DescribeClusterDynamicConfiguration',
      ],
      Resource: [cluster],
    },
    { Effect: 'Allow', Action: ['kafka-cluster:DescribeTopic', 'kafka-cluster:WriteData'], Resource: PRODUCED_TOPICS.map(topic) },
    { Effect: 'Allow', Action: ['kafka-cluster:ReadData'], Resource: CONSUMED_TOPICS.map(topic) },
    {
      Effect: 'Allow',
      Action: ['kafka-cluster:DescribeGroup', 'kafka-cluster:AlterGroup'],
      Resource: CONSUMERS.map((consumer) => group(consumer.group)),
    },
  ];
}

export const SETUP_ROLE = 'SetupRole';
export const OPS_ROLE = 'OpsRole';

/** The EC2 actions a function in a VPC needs for its network interfaces; EC2 does not let a policy scope them. */
const NETWORK_INTERFACES: Statement = {
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
};

/** A role of one function of its own: its log group, its network interfaces, and `statements`. */
function functionRole(parameters: DeployParameters, functionKey: string, statements: readonly Statement[]) {
  const logGroup = `arn:\${AWS::Partition}:logs:\${AWS::Region}:\${AWS::AccountId}:log-group:/aws/lambda/${parameters.service}-${parameters.stage}-${functionKey}`;
  return {
    Type: 'AWS::IAM::Role',
    Properties: {
      AssumeRolePolicyDocument: {
        Version: '2012-10-17',
        Statement: [{ Effect: 'Allow', Principal: { Service: ['lambda.amazonaws.com'] }, Action: ['sts:AssumeRole'] }],
      },
      Policies: [
        {
          PolicyName: `${parameters.service}-${parameters.stage}-${functionKey}`,
          PolicyDocument: {
            Version: '2012-10-17',
            Statement: [
              { Effect: 'Allow', Action: ['logs:CreateLogStream', 'logs:PutLogEvents'], Resource: [{ 'Fn::Sub': `${logGroup}:*` }] },
              ...statements,
              NETWORK_INTERFACES,
            ],
          },
        },
      ],
    },
  };
}

/**
 * The setup function's own role: the only one that may create and grow topics. It reads the
 * secrets; it needs no data access to Kafka.
 */
export function setupRoleResource(parameters: DeployParameters): Resources {
  const cluster = mskClusterArn(parameters);
  return {
    [SETUP_ROLE]: functionRole(parameters, 'setup', [
      {
        Effect: 'Allow',
        Action: ['secretsmanager:GetSecretValue'],
        Resource: [...databaseSecretArns(parameters), ...elasticShardSecretArns(parameters)],
      },
      // Publishing the slot maps at their adoption.
      {
        Effect: 'Allow',
        Action: ['secretsmanager:CreateSecret', 'secretsmanager:PutSecretValue'],
        Resource: [elasticShardSecretArns(parameters)[1]!],
      },
      { Effect: 'Allow', Action: ['kafka:GetBootstrapBrokers', 'kafka-cluster:Connect'], Resource: [cluster] },
      {
        Effect: 'Allow',
        Action: ['kafka-cluster:DescribeTopic', 'kafka-cluster:CreateTopic', 'kafka-cluster:AlterTopic'],
        Resource: PRODUCED_TOPICS.map((name) => clusterResourceArn(cluster, 'topic', name)),
      },
    ]),
  };
}

/** Where the live view's token is kept (serverless.yml `opsTokenSecret`). */
export const opsTokenSecretName = (parameters: DeployParameters): string => `${parameters.service}/${parameters.stage}/ops-token`;
export const OPS_TOKEN_SECRET = 'OpsTokenSecret';

/**
 * The live view's role: it reads every database and its token, and only reads Kafka: the topics'
 * offsets, the groups of this stage (their members and committed offsets), and the dead-letter
 * topic, through short-lived groups of its own (`<service>-<stage>-ops-dead-letters-…`).
 */
export function opsResources(parameters: DeployParameters): Resources {
  const cluster = mskClusterArn(parameters);
  const stageGroups = (suffix: string) => clusterResourceArn(cluster, 'group', `${parameters.service}-${parameters.stage}-${suffix}`);
  return {
    [OPS_TOKEN_SECRET]: {
      Type: 'AWS::SecretsManager::Secret',
      Properties: {
        Name: opsTokenSecretName(parameters),
        Description: 'The token that opens the live view (GET /ops/); docs/operations.md, "Live view"',
        GenerateSecretString: { PasswordLength: 48, ExcludePunctuation: true },
      },
    },
    [OPS_ROLE]: functionRole(parameters, 'ops', [
      {
        Effect: 'Allow',
        Action: ['secretsmanager:GetSecretValue'],
        Resource: [...databaseSecretArns(parameters), ...elasticShardSecretArns(parameters), { Ref: OPS_TOKEN_SECRET }],
      },
      // The brokers come from the deploy (SetupRun.BootstrapBrokers): no lookup.
      { Effect: 'Allow', Action: ['kafka-cluster:Connect'], Resource: [cluster] },
      {
        Effect: 'Allow',
        Action: ['kafka-cluster:DescribeTopic'],
        Resource: PRODUCED_TOPICS.map((name) => clusterResourceArn(cluster, 'topic', name)),
      },
      { Effect: 'Allow', Action: ['kafka-cluster:ReadData'], Resource: [clusterResourceArn(cluster, 'topic', TOPICS.deadLetters)] },
      { Effect: 'Allow', Action: ['kafka-cluster:DescribeGroup'], Resource: [stageGroups('*')] },
      { Effect: 'Allow', Action: ['kafka-cluster:AlterGroup'], Resource: [stageGroups('ops-dead-letters-*')] },
    ]),
  };
}
