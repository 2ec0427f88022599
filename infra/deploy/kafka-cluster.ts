import { type Resources, type TemplateString, getAtt, nameTag, ref } from './cloudformation';
import type { DeployParameters } from './parameters';

export const KAFKA_CLUSTER = 'KafkaCluster';
export const KAFKA_SECURITY_GROUP = 'KafkaSecurityGroup';
/** MSK's port for clients that authenticate with IAM over TLS. */
export const MSK_IAM_PORT = 9098;

/** The cluster the functions and their event source mappings use. */
export function mskClusterArn(parameters: DeployParameters): TemplateString {
  return parameters.existing ? parameters.existing.mskClusterArn : ref(KAFKA_CLUSTER);
}

/**
 * The ARN of a topic or consumer group of the cluster, for IAM: MSK names them after the
 * cluster's own ARN (`...:cluster/<name>/<uuid>` → `...:topic/<name>/<uuid>/<topic>`).
 */
export function clusterResourceArn(clusterArn: TemplateString, kind: 'topic' | 'group', name: string): TemplateString {
  if (typeof clusterArn === 'string') return `${clusterArn.replace(':cluster/', `:${kind}/`)}/${name}`;
  const split = { 'Fn::Split': [':cluster/', clusterArn] } as const;
  return {
    'Fn::Join': ['', [{ 'Fn::Select': [0, split] }, `:${kind}/`, { 'Fn::Select': [1, split] }, `/${name}`]],
  };
}

/**
 * Every topic on three brokers, a write acknowledged (acks=all) once two hold it, and a replica
 * that fell behind never elected leader: one broker or zone lost loses nothing acknowledged and
 * stops no producer. The setup run makes the topics with the cluster's default replication.
 */
export const KAFKA_SERVER_PROPERTIES = [
  'default.replication.factor=3',
  'min.insync.replicas=2',
  'unclean.leader.election.enable=false',
  'auto.create.topics.enable=false',
].join('\n');

/**
 * A provisioned MSK cluster of three brokers, one per private subnet (three zones), reachable
 * only by the functions' security group and by its own (the event source mappings' pollers run
 * with the cluster's security groups), authenticating clients by IAM over TLS only.
 */
export function kafkaClusterResources(
  parameters: DeployParameters,
  network: { readonly vpc: string; readonly privateSubnets: readonly string[]; readonly lambdaSecurityGroup: string },
): Resources {
  const prefix = `${parameters.service}-${parameters.stage}`;
  return {
    [KAFKA_SECURITY_GROUP]: {
      Type: 'AWS::EC2::SecurityGroup',
      Properties: {
        GroupDescription: 'MSK brokers: IAM/TLS from the functions and from the event source pollers',
        VpcId: ref(network.vpc),
        SecurityGroupIngress: [
          {
            IpProtocol: 'tcp',
            FromPort: MSK_IAM_PORT,
            ToPort: MSK_IAM_PORT,
            SourceSecurityGroupId: ref(network.lambdaSecurityGroup),
            Description: 'functions',
          },
        ],
        Tags: nameTag(prefix, 'kafka'),
      },
    },
    KafkaSecurityGroupSelfIngress: {
      Type: 'AWS::EC2::SecurityGroupIngress',
      Properties: {
        GroupId: getAtt(KAFKA_SECURITY_GROUP, 'GroupId'),
        IpProtocol: 'tcp',
        FromPort: MSK_IAM_PORT,
        ToPort: MSK_IAM_PORT,
        SourceSecurityGroupId: getAtt(KAFKA_SECURITY_GROUP, 'GroupId'),
        Description: 'Lambda event source pollers, which run with the cluster security group',
      },
    },
    [KAFKA_CLUSTER]: {
      Type: 'AWS::MSK::Cluster',
      Properties: {
        ClusterName: prefix,
        KafkaVersion: parameters.kafkaVersion,
        NumberOfBrokerNodes: network.privateSubnets.length,
        BrokerNodeGroupInfo: {
          InstanceType: parameters.kafkaInstanceType,
          ClientSubnets: network.privateSubnets.map(ref),
          SecurityGroups: [getAtt(KAFKA_SECURITY_GROUP, 'GroupId')],
          StorageInfo: { EBSStorageInfo: { VolumeSize: 10 } },
        },
        ClientAuthentication: { Sasl: { Iam: { Enabled: true } }, Unauthenticated: { Enabled: false } },
        EncryptionInfo: { EncryptionInTransit: { ClientBroker: 'TLS', InCluster: true } },
        ConfigurationInfo: { Arn: getAtt('KafkaConfiguration', 'Arn'), Revision: getAtt('KafkaConfiguration', 'LatestRevision.Revision') },
      },
    },
    KafkaConfiguration: {
      Type: 'AWS::MSK::Configuration',
      Properties: { Name: `${prefix}-replicated`, KafkaVersionsList: [parameters.kafkaVersion], ServerProperties: KAFKA_SERVER_PROPERTIES },
    },
  };
}
