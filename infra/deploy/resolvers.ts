/**
 * The parts of serverless.yml that depend on the deploy's parameters, as Serverless `${file()}`
 * resolvers. Stage `local` (serverless-offline) gets none of them: no VPC, no resources, no IAM.
 */
import { alarmResources } from './alarms';
import { lambdaLogicalId, type TemplateString } from './cloudformation';
import { concurrencyBudget } from './connection-budget';
import { databaseResources } from './databases';
import { iamStatements as statementsFor, opsResources, setupRoleResource, type Statement } from './iam';
import { kafkaClusterResources, mskClusterArn as clusterArnOf } from './kafka-cluster';
import { LAMBDA_SECURITY_GROUP, lambdaVpc, networkResources, PRIVATE_SUBNETS, VPC } from './network';
import { type DeployParameters, readDeployParameters, type Resolve } from './parameters';
import { setupRunResource } from './setup-run';

/** What Serverless passes a JS resolver. */
export interface ResolverContext {
  readonly resolveVariable: Resolve;
}

async function deployTarget({ resolveVariable }: ResolverContext): Promise<DeployParameters | undefined> {
  const platform = await resolveVariable('param:platform');
  if (platform === 'local') return undefined;
  if (platform !== 'aws') throw new Error(`parameter platform=${String(platform)} must be local or aws`);
  return readDeployParameters(resolveVariable);
}

/** The MSK cluster: the created one, or `--param existingMskClusterArn=...`. */
export async function mskClusterArn({ resolveVariable }: ResolverContext): Promise<TemplateString> {
  return clusterArnOf(await readDeployParameters(resolveVariable));
}

export async function vpc(context: ResolverContext): Promise<ReturnType<typeof lambdaVpc> | null> {
  const parameters = await deployTarget(context);
  return parameters ? lambdaVpc(parameters) : null;
}

export async function iamStatements(context: ResolverContext): Promise<Statement[]> {
  const parameters = await deployTarget(context);
  return parameters ? statementsFor(parameters) : [];
}

/** Each function's reserved concurrency, merged into the functions Serverless compiles (`resources.extensions`). */
function concurrencyExtensions(parameters: DeployParameters): Record<string, { Properties: { ReservedConcurrentExecutions: number } }> {
  return Object.fromEntries(
    Object.entries(concurrencyBudget(parameters).reserved).map(([functionKey, reserved]) => [
      lambdaLogicalId(functionKey),
      { Properties: { ReservedConcurrentExecutions: reserved } },
    ]),
  );
}

export async function resources(
  context: ResolverContext,
): Promise<{ Resources: Record<string, unknown>; extensions?: Record<string, unknown> }> {
  const parameters = await deployTarget(context);
  if (!parameters) return { Resources: {} };
  const setup = { ...setupRoleResource(parameters), ...setupRunResource(parameters, []), ...opsResources(parameters) };
  const alarms = alarmResources(parameters);
  const extensions = concurrencyExtensions(parameters);
  if (parameters.existing) return { Resources: { ...setup, ...alarms }, extensions };

  const network = { vpc: VPC, privateSubnets: PRIVATE_SUBNETS, lambdaSecurityGroup: LAMBDA_SECURITY_GROUP };
  const created = {
    ...networkResources(parameters),
    ...kafkaClusterResources(parameters, network),
    ...databaseResources(parameters, network),
  };
  // The setup needs every database with its credentials, the brokers, and the route out to
  // answer CloudFormation.
  const needed = Object.entries(created)
    .filter(([, resource]) =>
      [
        'AWS::SecretsManager::SecretTargetAttachment',
        'AWS::MSK::Cluster',
        'AWS::EC2::Route',
        'AWS::EC2::SubnetRouteTableAssociation',
      ].includes(resource.Type),
    )
    .map(([logicalId]) => logicalId);
  return { Resources: { ...created, ...setup, ...alarms, ...setupRunResource(parameters, needed) }, extensions };
}
