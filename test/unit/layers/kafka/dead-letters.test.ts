import { decodeByShard, parkRecord } from '../../../../layers/kafka/dead-letters';
import type { Outbox } from '../../../../layers/kafka/producer';
import type { DecodedRecord } from '../../../../layers/kafka/records';
import { TOPICS } from '../../../../layers/kafka/topics';
import { isMalformed, MalformedMessageError } from '../../../../layers/twopc/messages';
import { linesWritten } from '../../../support/lines-written';

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

const record = (offset: number, value: string) =>
  ({ topic: 'transaction-results', partition: 0, offset: String(offset), key: null, value }) as unknown as DecodedRecord;
const decode = (input: DecodedRecord) => {
  const text = String(input.value);
  if (text === 'boom') throw new Error('database down');
  if (!/^\d+$/.test(text)) throw new MalformedMessageError(`${text} is not a number`);
  return { value: Number(text), shard: Number(text) % 2 };
};

describe('decodeByShard', () => {
  it('groups what decodes by shard, in order, keeping each shard’s records beside its values', () => {
    const outbox: Outbox = new Map();
    const records = [record(1, '4'), record(2, '7'), record(3, '2')];
    const byShard = decodeByShard(outbox, records, decode, isMalformed);
    expect([...byShard].map(([shard, { values, records: kept }]) => [shard, values, kept.map((r) => r.offset)])).toEqual([
      [0, [4, 2], ['1', '3']],
      [1, [7], ['2']],
    ]);
    expect(outbox.size).toBe(0);
  });

  it('parks a record that does not decode, with the reason, and goes on with the rest', () => {
    const outbox: Outbox = new Map();
    jest.spyOn(process.stdout, 'write').mockImplementation(() => true);
    const byShard = decodeByShard(outbox, [record(1, 'x'), record(2, '3')], decode, isMalformed);
    jest.restoreAllMocks();
    expect([...byShard.keys()]).toEqual([1]);
    const parked = outbox.get(TOPICS.deadLetters) ?? [];
    expect(parked).toHaveLength(1);
    expect(JSON.stringify(parked[0])).toContain('x is not a number');
  });

  it('fails the whole batch on any other error, so it is delivered again', () => {
    expect(() => decodeByShard(new Map(), [record(1, '2'), record(2, 'boom')], decode, isMalformed)).toThrow('database down');
  });
});
