import { parkRecord } from '../../../layers/kafka/dead-letters';
import type { Outbox } from '../../../layers/kafka/producer';
import { linesWritten } from '../../support/lines-written';

describe('the functions’ logger', () => {
  it('writes a parked record as one structured line: level, message, service, time and the record’s coordinates', async () => {
    const outbox: Outbox = new Map();
    const lines = await linesWritten(() =>
      parkRecord(
        outbox,
        { topic: 'stock-instructions', partition: 3, offset: '42', key: 'k', value: 'not json' } as never,
        'does not decode',
      ),
    );

    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      level: 'ERROR',
      message: 'record parked',
      service: expect.any(String),
      timestamp: expect.any(String),
      topic: 'stock-instructions',
      partition: 3,
      offset: '42',
      reason: 'does not decode',
    });
  });
});
