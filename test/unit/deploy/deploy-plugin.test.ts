import { DeployPlugin, type ServerlessLike } from '../../../infra/deploy/deploy-plugin';

function serverless(invokeReply: unknown, functions: Record<string, { name: string }> = { setup: { name: 'shop-aws-setup' } }) {
  const requests: unknown[][] = [];
  const fake: ServerlessLike = {
    service: {
      getAllFunctions: () => Object.keys(functions),
      getFunction: (name) => functions[name] ?? {},
      provider: { compiledCloudFormationTemplate: { Resources: {} } },
    },
    getProvider: () => ({
      naming: { getLambdaLogicalId: (name: string) => `${name}LambdaFunction` },
      request: async (...args: unknown[]) => {
        requests.push(args);
        return invokeReply;
      },
    }),
  };
  return { fake, requests };
}

const log = { notice: jest.fn() };

describe('DeployPlugin.runSetup (after serverless deploy)', () => {
  it('invokes the setup function and waits for its answer', async () => {
    const { fake, requests } = serverless({ Payload: Buffer.from('{"topicsCreated":["dead-letters"]}') });
    await new DeployPlugin(fake, {}, { log }).runSetup();
    expect(requests).toEqual([['Lambda', 'invoke', { FunctionName: 'shop-aws-setup', InvocationType: 'RequestResponse' }]]);
    expect(log.notice).toHaveBeenCalledWith('shop-aws-setup: {"topicsCreated":["dead-letters"]}');
  });

  it('fails the deploy with the function error and how to run it again', async () => {
    const { fake } = serverless({ FunctionError: 'Unhandled', Payload: Buffer.from('{"errorMessage":"connect ETIMEDOUT"}') });
    await expect(new DeployPlugin(fake, {}, { log }).runSetup()).rejects.toThrow(
      'shop-aws-setup failed (Unhandled): {"errorMessage":"connect ETIMEDOUT"}; the new code is deployed, run `serverless invoke -f setup` again',
    );
  });

  it('does nothing on a stage without the setup function', async () => {
    const { fake, requests } = serverless({}, { orderApi: { name: 'shop-local-orderApi' } });
    await new DeployPlugin(fake, {}, { log }).runSetup();
    expect(requests).toEqual([]);
  });
});
