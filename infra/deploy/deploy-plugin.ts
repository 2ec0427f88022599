import { SETUP_RUN } from './setup-run';

/**
 * Serverless v3 plugin for the stages deployed to AWS:
 * - keeps `maximumBatchingWindow: 0` of `msk` events: the framework drops a zero (it tests the
 *   value for truth), and AWS then waits its default 500 ms before every batch, a delay on each
 *   hop of the two-phase commit;
 * - writes an `msk` event's `functionResponseTypes` (a property the offline-kafka plugin adds to
 *   the event's schema) into its mapping as `FunctionResponseTypes`, which AWS takes for Kafka in
 *   provisioned mode only: an event that asks for it without `provisionedPollerConfig` is refused
 *   here, rather than by CloudFormation halfway through a deploy;
 * - drops the copies of one IAM statement the framework adds once per `msk` function;
 * - makes the event source mappings wait for the `SetupRun` custom resource (infra/deploy/
 *   setup-run.ts), so they are created once the setup has made their topics.
 */

interface MskEvent {
  readonly topic?: unknown;
  readonly maximumBatchingWindow?: unknown;
  readonly functionResponseTypes?: readonly string[];
  readonly provisionedPollerConfig?: unknown;
}

interface FunctionConfig {
  readonly events?: readonly { readonly msk?: MskEvent }[];
}

interface TemplateResource {
  Type: string;
  Properties?: Record<string, unknown>;
  DependsOn?: string | string[];
}

interface RoleProperties {
  Policies?: { PolicyDocument: { Statement: unknown[] } }[];
}

export interface ServerlessLike {
  readonly service: {
    getAllFunctions(): string[];
    getFunction(name: string): FunctionConfig;
    readonly provider: { compiledCloudFormationTemplate: { Resources: Record<string, TemplateResource> } };
  };
  getProvider(name: 'aws'): { naming: { getLambdaLogicalId(functionName: string): string } };
}

export class DeployPlugin {
  readonly hooks: Record<string, () => Promise<void> | void> = {
    'after:package:compileEvents': () => {
      this.mappingsAsTheEventsSay();
      this.dropRepeatedStatements();
    },
    // After the `resources:` section has been merged into the template.
    'after:aws:package:finalize:mergeCustomProviderResources': () => this.mappingsAfterSetup(),
  };

  constructor(private readonly serverless: ServerlessLike) {}

  /** What the framework leaves out of an `msk` event's mapping: a zero batching window, and its response types. */
  mappingsAsTheEventsSay(): void {
    const { service } = this.serverless;
    const naming = this.serverless.getProvider('aws').naming;
    const mappings = Object.values(service.provider.compiledCloudFormationTemplate.Resources).filter(
      (resource) => resource.Type === 'AWS::Lambda::EventSourceMapping',
    );
    for (const functionName of service.getAllFunctions()) {
      const logicalId = naming.getLambdaLogicalId(functionName);
      for (const { msk } of service.getFunction(functionName).events ?? []) {
        if (!msk) continue;
        if (msk.functionResponseTypes?.length && msk.provisionedPollerConfig === undefined) {
          throw new Error(
            `function ${functionName}, msk event on ${String(msk.topic)}: functionResponseTypes needs provisionedPollerConfig (AWS takes a Kafka mapping's error handling controls in provisioned mode only)`,
          );
        }
        for (const mapping of mappings) {
          const properties = mapping.Properties ?? {};
          const target = properties.FunctionName as { 'Fn::GetAtt'?: unknown[] } | undefined;
          const topics = properties.Topics as unknown[] | undefined;
          if (target?.['Fn::GetAtt']?.[0] !== logicalId || topics?.[0] !== msk.topic) continue;
          if (msk.maximumBatchingWindow === 0) properties.MaximumBatchingWindowInSeconds = 0;
          if (msk.functionResponseTypes?.length) properties.FunctionResponseTypes = [...msk.functionResponseTypes];
        }
      }
    }
  }

  dropRepeatedStatements(): void {
    const role = this.serverless.service.provider.compiledCloudFormationTemplate.Resources.IamRoleLambdaExecution;
    for (const policy of (role?.Properties as RoleProperties | undefined)?.Policies ?? []) {
      const seen = new Set<string>();
      policy.PolicyDocument.Statement = policy.PolicyDocument.Statement.filter((statement) => {
        const key = JSON.stringify(statement);
        if (seen.has(key)) return false;
        seen.add(key);
        return true;
      });
    }
  }

  mappingsAfterSetup(): void {
    const resources = this.serverless.service.provider.compiledCloudFormationTemplate.Resources;
    if (!resources[SETUP_RUN]) return;
    for (const resource of Object.values(resources)) {
      if (resource.Type !== 'AWS::Lambda::EventSourceMapping') continue;
      resource.DependsOn = [...[resource.DependsOn ?? []].flat(), SETUP_RUN];
    }
  }
}
