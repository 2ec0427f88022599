import { type Resources, type TemplateString, getAtt, nameTag, ref } from './cloudformation';
import type { DeployParameters } from './parameters';

export const VPC = 'Vpc';
export const PRIVATE_SUBNETS = ['PrivateSubnetA', 'PrivateSubnetB', 'PrivateSubnetC'] as const;
export const LAMBDA_SECURITY_GROUP = 'LambdaSecurityGroup';
// Three: MSK's brokers, one per zone, keep a topic's three replicas in three zones.
const ZONES = [0, 1, 2] as const;

/** Where the functions run: the created private subnets, or the given ones. */
export function lambdaVpc(parameters: DeployParameters): { securityGroupIds: TemplateString[]; subnetIds: TemplateString[] } {
  if (parameters.existing) {
    return { securityGroupIds: [...parameters.existing.securityGroupIds], subnetIds: [...parameters.existing.subnetIds] };
  }
  return { securityGroupIds: [getAtt(LAMBDA_SECURITY_GROUP, 'GroupId')], subnetIds: PRIVATE_SUBNETS.map(ref) };
}

/**
 * A VPC over two availability zones: private subnets for the functions, brokers and databases,
 * public ones for a single NAT gateway. The functions need the way out: the order service
 * reads prices through the stock service's public HTTP API, and every function reaches Secrets
 * Manager and MSK's control plane. One NAT gateway, not one per zone, keeps the idle cost down
 * at the price of outbound traffic depending on one zone.
 */
export function networkResources(parameters: DeployParameters): Resources {
  const prefix = `${parameters.service}-${parameters.stage}`;
  const zone = (index: number) => ({ 'Fn::Select': [index, { 'Fn::GetAZs': '' }] });
  const resources: Resources = {
    [VPC]: {
      Type: 'AWS::EC2::VPC',
      Properties: { CidrBlock: '10.42.0.0/16', EnableDnsSupport: true, EnableDnsHostnames: true, Tags: nameTag(prefix, 'vpc') },
    },
    InternetGateway: { Type: 'AWS::EC2::InternetGateway', Properties: { Tags: nameTag(prefix, 'igw') } },
    InternetGatewayAttachment: {
      Type: 'AWS::EC2::VPCGatewayAttachment',
      Properties: { VpcId: ref(VPC), InternetGatewayId: ref('InternetGateway') },
    },
    PublicRouteTable: { Type: 'AWS::EC2::RouteTable', Properties: { VpcId: ref(VPC), Tags: nameTag(prefix, 'public') } },
    PublicDefaultRoute: {
      Type: 'AWS::EC2::Route',
      DependsOn: 'InternetGatewayAttachment',
      Properties: { RouteTableId: ref('PublicRouteTable'), DestinationCidrBlock: '0.0.0.0/0', GatewayId: ref('InternetGateway') },
    },
    NatAddress: { Type: 'AWS::EC2::EIP', DependsOn: 'InternetGatewayAttachment', Properties: { Domain: 'vpc' } },
    NatGateway: {
      Type: 'AWS::EC2::NatGateway',
      Properties: { AllocationId: getAtt('NatAddress', 'AllocationId'), SubnetId: ref('PublicSubnetA'), Tags: nameTag(prefix, 'nat') },
    },
    PrivateRouteTable: { Type: 'AWS::EC2::RouteTable', Properties: { VpcId: ref(VPC), Tags: nameTag(prefix, 'private') } },
    PrivateDefaultRoute: {
      Type: 'AWS::EC2::Route',
      Properties: { RouteTableId: ref('PrivateRouteTable'), DestinationCidrBlock: '0.0.0.0/0', NatGatewayId: ref('NatGateway') },
    },
    [LAMBDA_SECURITY_GROUP]: {
      Type: 'AWS::EC2::SecurityGroup',
      Properties: {
        GroupDescription: 'The functions: no inbound, outbound to the databases, the brokers and the NAT gateway',
        VpcId: ref(VPC),
        Tags: nameTag(prefix, 'functions'),
      },
    },
  };
  for (const index of ZONES) {
    const letter = 'ABC'[index];
    Object.assign(resources, {
      [`PublicSubnet${letter}`]: {
        Type: 'AWS::EC2::Subnet',
        Properties: {
          VpcId: ref(VPC),
          AvailabilityZone: zone(index),
          CidrBlock: `10.42.${index * 16}.0/20`,
          Tags: nameTag(prefix, `public-${letter}`),
        },
      },
      [`PublicSubnet${letter}Routes`]: {
        Type: 'AWS::EC2::SubnetRouteTableAssociation',
        Properties: { SubnetId: ref(`PublicSubnet${letter}`), RouteTableId: ref('PublicRouteTable') },
      },
      [PRIVATE_SUBNETS[index]]: {
        Type: 'AWS::EC2::Subnet',
        Properties: {
          VpcId: ref(VPC),
          AvailabilityZone: zone(index),
          CidrBlock: `10.42.${128 + index * 16}.0/20`,
          Tags: nameTag(prefix, `private-${letter}`),
        },
      },
      [`${PRIVATE_SUBNETS[index]}Routes`]: {
        Type: 'AWS::EC2::SubnetRouteTableAssociation',
        Properties: { SubnetId: ref(PRIVATE_SUBNETS[index]), RouteTableId: ref('PrivateRouteTable') },
      },
    });
  }
  return resources;
}
