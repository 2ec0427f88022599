/**
 * Invokes a function inside this serverless-offline process, through serverless-offline's own
 * Lambda runner (`serverless-offline/lambda`, which it exports for event-source plugins): the
 * same handler module, environment, context and timeout its Invoke endpoint would give, without
 * an HTTP round trip, a JSON copy of the batch and hapi's routing on every invocation.
 */

/** Runs the function with the event; resolves with the handler's reply when it succeeded, rejects otherwise. */
export type Invoker = (functionName: string, event: unknown) => Promise<unknown>;

/** The slice of Serverless' service the runner is built from. */
export interface InvokableService {
  getAllFunctions(): string[];
  getFunction(functionKey: string): object;
}

/** serverless-offline's options that decide how a handler runs, as it merges them (defaults, custom, CLI). */
export interface RunnerOptions {
  readonly [name: string]: unknown;
}

type LambdaClass = typeof import('serverless-offline/lambda').default;

/** serverless-offline's defaults for what the runner reads (src/config/defaultOptions.js). */
const RUNNER_DEFAULTS = {
  host: 'localhost',
  lambdaPort: 3002,
  localEnvironment: false,
  noTimeout: false,
  reloadHandler: false,
  terminateIdleLambdaTime: 60,
  useDocker: false,
  useInProcess: false,
} as const;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Same precedence as serverless-offline's `#mergeOptions`: its defaults, then `custom.serverless-offline`, then the CLI. */
export function runnerOptions(cliOptions: Record<string, unknown>, custom: unknown): RunnerOptions {
  const offline = isRecord(custom) && isRecord(custom['serverless-offline']) ? custom['serverless-offline'] : {};
  return { ...RUNNER_DEFAULTS, ...offline, ...cliOptions };
}

export interface InProcessInvoker {
  readonly invoke: Invoker;
  /** Lets go of the handler runners (worker threads, when not in process). */
  close(): Promise<void>;
}

/**
 * Builds a runner for `functionKeys`. Call it once serverless-offline (and the bundler) have
 * set the service up, i.e. from `after:offline:start:init`: handler paths are final by then.
 */
export async function createInProcessInvoker(
  serverless: { service: InvokableService },
  options: RunnerOptions,
  functionKeys: readonly string[],
  loadLambda: () => Promise<LambdaClass> = async () => (await import('serverless-offline/lambda')).default,
): Promise<InProcessInvoker> {
  const Lambda = await loadLambda();
  const lambda = new Lambda(serverless, options);
  lambda.create(functionKeys.map((functionKey) => ({ functionKey, functionDefinition: serverless.service.getFunction(functionKey) })));
  return {
    invoke: async (functionName, event) => {
      // get, setEvent and runHandler's first step (marking the runner busy) happen in one turn,
      // so concurrent invocations never share a runner.
      const lambdaFunction = lambda.getByFunctionName(functionName);
      lambdaFunction.setEvent(event);
      return lambdaFunction.runHandler();
    },
    close: () => lambda.cleanup(),
  };
}
