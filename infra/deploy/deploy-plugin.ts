/**
 * Serverless v3 plugin for the stages deployed to AWS:
 * - keeps `maximumBatchingWindow: 0` of `msk` events: the framework drops a zero (it tests the
 *   value for truth), and AWS then waits its default 500 ms before every batch, a delay on each
 *   hop of the two-phase commit;
 * - drops the copies of one IAM statement the framework adds once per `msk` function;
 * - after `serverless deploy`, invokes the `setup` function, which migrates every shard's schema
 *   and creates the Kafka topics, and fails the deploy when it fails.
 */

interface MskEvent {
  readonly topic?: unknown;
  readonly maximumBatchingWindow?: unknown;
}

interface FunctionConfig {
  readonly name?: string;
  readonly events?: readonly { readonly msk?: MskEvent }[];
}

interface TemplateResource {
  Type: string;
  Properties?: Record<string, unknown>;
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
  getProvider(name: 'aws'): {
    naming: { getLambdaLogicalId(functionName: string): string };
    request(service: string, method: string, params: Record<string, unknown>): Promise<unknown>;
  };
}

interface Logger {
  notice(message: string): void;
}

/** The function the deploy runs once every resource is in place. */
export const SETUP_FUNCTION = 'setup';

export class DeployPlugin {
  readonly hooks: Record<string, () => Promise<void> | void> = {
    'after:package:compileEvents': () => {
      this.keepZeroBatchingWindows();
      this.dropRepeatedStatements();
    },
    'after:deploy:deploy': () => this.runSetup(),
  };

  constructor(
    private readonly serverless: ServerlessLike,
    _options: unknown,
    private readonly utils: { log: Logger },
  ) {}

  keepZeroBatchingWindows(): void {
    const { service } = this.serverless;
    const naming = this.serverless.getProvider('aws').naming;
    const mappings = Object.values(service.provider.compiledCloudFormationTemplate.Resources).filter(
      (resource) => resource.Type === 'AWS::Lambda::EventSourceMapping',
    );
    for (const functionName of service.getAllFunctions()) {
      const logicalId = naming.getLambdaLogicalId(functionName);
      for (const { msk } of service.getFunction(functionName).events ?? []) {
        if (msk?.maximumBatchingWindow !== 0) continue;
        for (const mapping of mappings) {
          const properties = mapping.Properties ?? {};
          const target = properties.FunctionName as { 'Fn::GetAtt'?: unknown[] } | undefined;
          const topics = properties.Topics as unknown[] | undefined;
          if (target?.['Fn::GetAtt']?.[0] === logicalId && topics?.[0] === msk.topic) {
            properties.MaximumBatchingWindowInSeconds = 0;
          }
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

  async runSetup(): Promise<void> {
    const { service } = this.serverless;
    if (!service.getAllFunctions().includes(SETUP_FUNCTION)) return;
    const functionName = service.getFunction(SETUP_FUNCTION).name;
    this.utils.log.notice(`Running ${functionName}: schema migrations and Kafka topics`);
    const reply = (await this.serverless.getProvider('aws').request('Lambda', 'invoke', {
      FunctionName: functionName,
      InvocationType: 'RequestResponse',
    })) as { FunctionError?: string; Payload?: Uint8Array | string };
    const payload = reply.Payload === undefined ? '' : Buffer.from(reply.Payload).toString('utf8');
    if (reply.FunctionError) {
      throw new Error(`${functionName} failed (${reply.FunctionError}): ${payload}; the new code is deployed, run \`serverless invoke -f ${SETUP_FUNCTION}\` again once the cause is fixed`);
    }
    this.utils.log.notice(`${functionName}: ${payload}`);
  }
}
