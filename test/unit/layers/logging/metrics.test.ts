/**
 * The functions' metrics as CloudWatch receives them: EMF lines on stdout, flushed by the Kafka
 * handler chain at the end of an invocation (`logMetrics`), as the functions assemble it.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Context } from 'aws-lambda';
import type { DatabaseContext } from '../../../../layers/db/middleware';
import { addDeadLetter, parkRecord } from '../../../../layers/kafka/dead-letters';
import { kafkaHandler } from '../../../../layers/kafka/kafka-handler';
import type { Outbox } from '../../../../layers/kafka/producer';
import { TOPICS } from '../../../../layers/kafka/topics';
import { linesWritten } from '../../../support/lines-written';

const context = {
  functionName: 'shop-test-stockInstructions',
  awsRequestId: 'c6af9ac6-7b61-11e6-9a41-93e8deadbeef',
  getRemainingTimeInMillis: () => 28_000,
} as unknown as Context as DatabaseContext;
const mskEvent = JSON.parse(
  fs.readFileSync(path.join(__dirname, '..', '..', '..', 'fixtures', 'kafka', 'aws-msk-example.json'), 'utf8'),
) as unknown;

const emf = (lines: Record<string, unknown>[]) => lines.filter((line) => '_aws' in line);

describe('the DeadLetters metric', () => {
  it('counts every record a batch parks, flushed once when the batch ends, under the namespace and dimensions the alarm watches', async () => {
    const outbox: Outbox = new Map();
    const handler = kafkaHandler('shop/test', {}, async (records) => {
      for (const record of records) parkRecord(outbox, record, 'does not decode');
      addDeadLetter(outbox, { key: 'txn-1', value: '{}', headers: { 'x-reason': 'protocol violation' } });
    });
    const lines = await linesWritten(() => handler(mskEvent, context));

    expect(outbox.get(TOPICS.deadLetters)).toHaveLength(2);
    expect(emf(lines)).toEqual([
      expect.objectContaining({
        _aws: {
          Timestamp: expect.any(Number),
          CloudWatchMetrics: [{ Namespace: 'Shop', Dimensions: [['service', 'stage']], Metrics: [{ Name: 'DeadLetters', Unit: 'Count' }] }],
        },
        service: 'shop',
        stage: 'local',
        DeadLetters: [1, 1],
      }),
    ]);
  });

  it('is flushed by a batch that fails too', async () => {
    const handler = kafkaHandler('shop/test', {}, async (records) => {
      parkRecord(new Map(), records[0]!, 'does not decode');
      throw new Error('shard stock-1 cannot be reached');
    });
    let failure: unknown;
    const lines = await linesWritten(() => handler(mskEvent, context).catch((error: unknown) => (failure = error)));
    expect(failure).toEqual(new Error('shard stock-1 cannot be reached'));
    expect(emf(lines)).toEqual([expect.objectContaining({ DeadLetters: 1 })]);
  });

  it('leaves a batch without dead letters silent: no metric line, no warning that there was none', async () => {
    const handler = kafkaHandler('shop/test', {}, async () => undefined);
    expect(await linesWritten(() => handler(mskEvent, context))).toEqual([]);
  });

  it('is not written where POWERTOOLS_METRICS_DISABLED=true (stage local)', async () => {
    const before = process.env.POWERTOOLS_METRICS_DISABLED;
    process.env.POWERTOOLS_METRICS_DISABLED = 'true';
    try {
      await jest.isolateModulesAsync(async () => {
        const { parkRecord: park } = await import('../../../../layers/kafka/dead-letters');
        const { metrics } = await import('../../../../layers/logging/metrics');
        const lines = await linesWritten(() => {
          park(
            new Map(),
            { topic: 'stock-instructions', partition: 0, offset: '1', key: null, value: 'x', headers: {} } as never,
            'does not decode',
          );
          metrics.publishStoredMetrics();
        });
        expect(lines.map((line) => line.message)).toEqual(['record parked']);
      });
    } finally {
      if (before === undefined) delete process.env.POWERTOOLS_METRICS_DISABLED;
      else process.env.POWERTOOLS_METRICS_DISABLED = before;
    }
  });
});
