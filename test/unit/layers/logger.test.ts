import { parkRecord } from '../../../layers/kafka/dead-letters';
import type { Outbox } from '../../../layers/kafka/producer';

/** What a person reading the functions' logs sees: one JSON object per line, fields as keys. */
function linesWritten(run: () => void): Record<string, unknown>[] {
  const written: string[] = [];
  const spies = [process.stdout, process.stderr].map((stream) =>
    jest.spyOn(stream, 'write').mockImplementation((chunk: string | Uint8Array) => {
      written.push(String(chunk));
      return true;
    }),
  );
  try {
    run();
  } finally {
    for (const spy of spies) spy.mockRestore();
  }
  return written
    .join('')
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

describe('the functions’ logger', () => {
  it('writes a parked record as one structured line: level, message, service, time and the record’s coordinates', () => {
    const outbox: Outbox = new Map();
    const lines = linesWritten(() =>
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
