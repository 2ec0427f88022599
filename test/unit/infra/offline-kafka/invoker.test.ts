import { createInProcessInvoker, runnerOptions } from '../../../../infra/offline-kafka/invoker';

/**
 * The runner is serverless-offline's `Lambda` class; here a stand-in with its contract (a pool
 * of runners per function: get one, set its event, run it), so the invoker's own part is seen.
 * The real runner is exercised by test/integration/kafka-event-source.test.ts.
 */
class FakeLambda {
  static last: FakeLambda;
  readonly created: { functionKey: string; functionDefinition: object }[] = [];
  readonly runs: { functionName: string; event: unknown }[] = [];
  cleanedUp = false;

  constructor(
    readonly serverless: unknown,
    readonly options: Record<string, unknown>,
  ) {
    FakeLambda.last = this;
  }

  create(lambdas: { functionKey: string; functionDefinition: object }[]) {
    this.created.push(...lambdas);
  }

  getByFunctionName(functionName: string) {
    let event: unknown;
    return {
      setEvent: (value: unknown) => (event = value),
      runHandler: async () => {
        this.runs.push({ functionName, event });
        if (functionName === 'shop-local-broken') throw new Error('handler failed');
        return { batchItemFailures: [] };
      },
    };
  }

  async cleanup() {
    this.cleanedUp = true;
  }
}

const service = {
  getAllFunctions: () => ['orderResults', 'broken'],
  getFunction: (functionKey: string) => ({ name: `shop-local-${functionKey}`, handler: `functions/${functionKey}.handler` }),
};

const build = (keys: string[]) => createInProcessInvoker({ service }, { useInProcess: true }, keys, async () => FakeLambda as never);

describe('createInProcessInvoker', () => {
  it('registers the functions it feeds, with their definitions', async () => {
    await build(['orderResults']);

    expect(FakeLambda.last.created).toEqual([
      { functionKey: 'orderResults', functionDefinition: { name: 'shop-local-orderResults', handler: 'functions/orderResults.handler' } },
    ]);
    expect(FakeLambda.last.options).toEqual({ useInProcess: true });
  });

  it('runs the handler with the event and resolves with its reply when it succeeds (a partial batch response, say)', async () => {
    const { invoke } = await build(['orderResults']);
    const event = { eventSource: 'aws:kafka', records: {} };

    await expect(invoke('shop-local-orderResults', event)).resolves.toEqual({ batchItemFailures: [] });

    expect(FakeLambda.last.runs).toEqual([{ functionName: 'shop-local-orderResults', event }]);
  });

  it('rejects when the handler fails, so the batch is delivered again', async () => {
    const { invoke } = await build(['broken']);

    await expect(invoke('shop-local-broken', {})).rejects.toThrow('handler failed');
  });

  it('lets go of the runners on close', async () => {
    const invoker = await build(['orderResults']);

    await invoker.close();

    expect(FakeLambda.last.cleanedUp).toBe(true);
  });
});

describe('runnerOptions', () => {
  it('takes serverless-offline’s defaults, then custom.serverless-offline, then the CLI', () => {
    const options = runnerOptions(
      { noTimeout: true },
      { 'serverless-offline': { useInProcess: true, noTimeout: false, host: '127.0.0.1' } },
    );

    expect(options).toMatchObject({
      useInProcess: true,
      noTimeout: true,
      host: '127.0.0.1',
      reloadHandler: false,
      terminateIdleLambdaTime: 60,
    });
  });

  it('keeps the defaults when there is no custom section', () => {
    expect(runnerOptions({}, undefined)).toMatchObject({ useInProcess: false, localEnvironment: false, noTimeout: false });
  });
});
