import { type ServiceLike, parseBrokerList, readKafkaEventSources, readSettings } from '../../../../infra/offline-kafka/config';

function service(functions: Record<string, { name?: string; events?: unknown[] }>, custom: Record<string, unknown> = {}): ServiceLike {
  return {
    service: 'shop',
    custom,
    getAllFunctions: () => Object.keys(functions),
    getFunction: (key) => functions[key]!,
  };
}

const context = { stage: 'local', region: 'eu-west-1' };

describe('readKafkaEventSources', () => {
  it('reads a kafka event with AWS defaults', () => {
    const { sources, problems } = readKafkaEventSources(
      service({
        settle: { name: 'shop-local-settle', events: [{ kafka: { topic: 'results', bootstrapServers: ['k1:9092', 'k2:9092'] } }] },
      }),
      context,
    );
    expect(problems).toEqual([]);
    expect(sources).toEqual([
      {
        functionKey: 'settle',
        functionName: 'shop-local-settle',
        source: { kind: 'self-managed', bootstrapServers: ['k1:9092', 'k2:9092'] },
        topic: 'results',
        brokers: ['k1:9092', 'k2:9092'],
        batchSize: 100,
        maximumBatchingWindowMs: 500,
        startingPosition: 'TRIM_HORIZON',
        groupId: 'shop-local-settle',
        reportBatchItemFailures: false,
      },
    ]);
  });

  it('reads partial batch responses on from functionResponseTypes, and names a response type it does not know', () => {
    const event = (functionResponseTypes: unknown) => ({ kafka: { topic: 'results', bootstrapServers: ['k:1'], functionResponseTypes } });
    const { sources, problems } = readKafkaEventSources(
      service({ a: { events: [event(['ReportBatchItemFailures'])] }, b: { events: [event(['ReportEverything'])] } }),
      context,
    );
    expect(sources.map((source) => [source.functionKey, source.reportBatchItemFailures])).toEqual([
      ['a', true],
      ['b', false],
    ]);
    expect(problems).toEqual([expect.stringContaining('functionResponseTypes ReportEverything unknown, ignored')]);
  });

  it('takes batchSize, window (seconds), startingPosition and consumerGroupId from the event', () => {
    const { sources } = readKafkaEventSources(
      service({
        settle: {
          events: [
            {
              kafka: {
                topic: 'results',
                bootstrapServers: ['k:1'],
                batchSize: 10,
                maximumBatchingWindow: 0,
                startingPosition: 'LATEST',
                consumerGroupId: 'custom-group',
              },
            },
          ],
        },
      }),
      context,
    );
    expect(sources[0]).toMatchObject({ batchSize: 10, maximumBatchingWindowMs: 0, startingPosition: 'LATEST', groupId: 'custom-group' });
  });

  it('converts AT_TIMESTAMP seconds to milliseconds and skips it without a timestamp', () => {
    const { sources, problems } = readKafkaEventSources(
      service({
        a: {
          events: [
            {
              kafka: { topic: 't', bootstrapServers: ['k:1'], startingPosition: 'AT_TIMESTAMP', startingPositionTimestamp: 1_700_000_000 },
            },
          ],
        },
        b: { events: [{ kafka: { topic: 't', bootstrapServers: ['k:1'], startingPosition: 'AT_TIMESTAMP' } }] },
      }),
      context,
    );
    expect(sources.map((source) => [source.functionKey, source.startingPositionTimestampMs])).toEqual([['a', 1_700_000_000_000]]);
    expect(problems).toEqual([expect.stringContaining('function b')]);
  });

  it('reads msk events with brokers from custom.offlineKafka', () => {
    const arn = 'arn:aws:kafka:eu-west-1:123456789012:cluster/shop/abc-1';
    const { sources } = readKafkaEventSources(
      service(
        { settle: { events: [{ msk: { arn, topic: 'results', batchSize: 5 } }] } },
        { offlineKafka: { brokers: '127.0.0.1:29092, 127.0.0.1:29093' } },
      ),
      context,
    );
    expect(sources[0]).toMatchObject({
      source: { kind: 'msk', arn, bootstrapServers: ['127.0.0.1:29092', '127.0.0.1:29093'] },
      brokers: ['127.0.0.1:29092', '127.0.0.1:29093'],
      batchSize: 5,
    });
  });

  it('makes up a stand-in ARN when the msk arn is a CloudFormation reference', () => {
    const { sources } = readKafkaEventSources(
      service(
        { settle: { events: [{ msk: { arn: { 'Fn::ImportValue': 'cluster' }, topic: 't' } }] } },
        { offlineKafka: { brokers: ['b:1'] } },
      ),
      context,
    );
    const source = sources[0]!.source;
    expect(source.kind === 'msk' && source.arn).toMatch(/^arn:aws:kafka:eu-west-1:\d{12}:cluster\//);
  });

  it('skips msk events when no local brokers are configured', () => {
    const { sources, problems } = readKafkaEventSources(service({ settle: { events: [{ msk: { arn: 'arn:x', topic: 't' } }] } }), context);
    expect(sources).toEqual([]);
    expect(problems).toEqual([expect.stringContaining('custom.offlineKafka.brokers')]);
  });

  it('lets custom.offlineKafka.brokers override kafka bootstrapServers', () => {
    const { sources } = readKafkaEventSources(
      service(
        { settle: { events: [{ kafka: { topic: 't', bootstrapServers: ['prod:9092'] } }] } },
        { offlineKafka: { brokers: ['127.0.0.1:29092'] } },
      ),
      context,
    );
    expect(sources[0]!.brokers).toEqual(['127.0.0.1:29092']);
    expect(sources[0]!.source.bootstrapServers).toEqual(['127.0.0.1:29092']);
  });

  it('skips events with enabled: false and ignores other event types', () => {
    const { sources, problems } = readKafkaEventSources(
      service({
        settle: {
          events: [
            { http: { path: '/', method: 'get' } },
            { kafka: { topic: 't', bootstrapServers: ['k:1'], enabled: false } },
            { sqs: 'arn' },
          ],
        },
      }),
      context,
    );
    expect(sources).toEqual([]);
    expect(problems).toEqual([]);
  });

  it('gives each of several events of one function its own default group', () => {
    const { sources } = readKafkaEventSources(
      service({
        settle: {
          events: [
            { kafka: { topic: 'a', bootstrapServers: ['k:1'] } },
            { kafka: { topic: 'b', bootstrapServers: ['k:1'] } },
            { kafka: { topic: 'b', bootstrapServers: ['k:2'] } },
          ],
        },
      }),
      context,
    );
    expect(sources.map((source) => source.groupId)).toEqual(['shop-local-settle-a', 'shop-local-settle-b', 'shop-local-settle-b-2']);
  });

  it('falls back to defaults with a problem for out-of-range values', () => {
    const { sources, problems } = readKafkaEventSources(
      service({
        settle: {
          events: [
            { kafka: { topic: 't', bootstrapServers: ['k:1'], batchSize: 0, maximumBatchingWindow: 301, startingPosition: 'EARLIEST' } },
          ],
        },
      }),
      context,
    );
    expect(sources[0]).toMatchObject({ batchSize: 100, maximumBatchingWindowMs: 500, startingPosition: 'TRIM_HORIZON' });
    expect(problems).toHaveLength(3);
  });

  it('reports an event without topic or brokers', () => {
    const { sources, problems } = readKafkaEventSources(
      service({ settle: { events: [{ kafka: { bootstrapServers: ['k:1'] } }, { kafka: { topic: 't' } }] } }),
      context,
    );
    expect(sources).toEqual([]);
    expect(problems).toEqual([expect.stringContaining('no topic'), expect.stringContaining('no bootstrapServers')]);
  });
});

describe('parseBrokerList / readSettings', () => {
  it.each([
    [
      ['a:1', ' b:2 '],
      ['a:1', 'b:2'],
    ],
    ['a:1,b:2', ['a:1', 'b:2']],
    ['', undefined],
    [[], undefined],
    [undefined, undefined],
    [42, undefined],
  ])('parses %j', (input, expected) => {
    expect(parseBrokerList(input)).toEqual(expected);
  });

  it('defaults partitionsConsumedConcurrently and accepts an override', () => {
    expect(readSettings({}).partitionsConsumedConcurrently).toBe(10);
    expect(readSettings({ offlineKafka: { partitionsConsumedConcurrently: 3 } }).partitionsConsumedConcurrently).toBe(3);
    expect(readSettings(null).brokers).toBeUndefined();
  });

  it('defaults activeMembersPerGroup to one and accepts a positive whole number', () => {
    expect(readSettings({}).activeMembersPerGroup).toBe(1);
    expect(readSettings({ offlineKafka: { activeMembersPerGroup: 3 } }).activeMembersPerGroup).toBe(3);
    expect(readSettings({ offlineKafka: { activeMembersPerGroup: 0 } }).activeMembersPerGroup).toBe(1);
    expect(readSettings({ offlineKafka: { activeMembersPerGroup: 1.5 } }).activeMembersPerGroup).toBe(1);
  });
});
