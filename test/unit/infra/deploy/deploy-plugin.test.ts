import { DeployPlugin, type ServerlessLike } from '../../../../infra/deploy/deploy-plugin';

type Resources = ServerlessLike['service']['provider']['compiledCloudFormationTemplate']['Resources'];

/** A packaged service with one function whose `msk` events are given, as the framework compiles them (no zero window, no response types). */
function packaged(events: Record<string, unknown>[]): { serverless: ServerlessLike; resources: Resources } {
  const resources: Resources = Object.fromEntries(
    events.map((msk, index) => [
      `SettleEventSourceMappingMSK${index}`,
      {
        Type: 'AWS::Lambda::EventSourceMapping',
        Properties: { FunctionName: { 'Fn::GetAtt': ['SettleLambdaFunction', 'Arn'] }, Topics: [msk.topic] },
      },
    ]),
  );
  const serverless: ServerlessLike = {
    service: {
      getAllFunctions: () => ['settle'],
      getFunction: () => ({ events: events.map((msk) => ({ msk })) }),
      provider: { compiledCloudFormationTemplate: { Resources: resources } },
    },
    getProvider: () => ({ naming: { getLambdaLogicalId: (name: string) => `${name[0]!.toUpperCase()}${name.slice(1)}LambdaFunction` } }),
  };
  return { serverless, resources };
}

describe('DeployPlugin.mappingsAsTheEventsSay', () => {
  it("writes each msk event's zero batching window and response types into its own mapping, and nothing into the others", () => {
    const { serverless, resources } = packaged([
      { topic: 'retries', maximumBatchingWindow: 0, functionResponseTypes: ['ReportBatchItemFailures'], provisionedPollerConfig: {} },
      { topic: 'instructions', maximumBatchingWindow: 1 },
    ]);

    new DeployPlugin(serverless).mappingsAsTheEventsSay();

    expect(resources.SettleEventSourceMappingMSK0!.Properties).toMatchObject({
      MaximumBatchingWindowInSeconds: 0,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
    });
    expect(resources.SettleEventSourceMappingMSK1!.Properties).toEqual({
      FunctionName: { 'Fn::GetAtt': ['SettleLambdaFunction', 'Arn'] },
      Topics: ['instructions'],
    });
  });

  it('refuses response types without provisioned pollers, which AWS requires for them on Kafka', () => {
    const { serverless } = packaged([{ topic: 'retries', functionResponseTypes: ['ReportBatchItemFailures'] }]);
    expect(() => new DeployPlugin(serverless).mappingsAsTheEventsSay()).toThrow(
      'function settle, msk event on retries: functionResponseTypes needs provisionedPollerConfig',
    );
  });
});
