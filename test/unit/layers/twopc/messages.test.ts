import {
  decodeInstructions,
  decisionRecords,
  decodeResults,
  RECORD_BYTES,
  resultRecords,
  encode,
  MalformedMessageError,
  parseParticipant,
  participantOf,
  type Result,
} from '../../../../layers/twopc/messages';
import { initialSlotMap } from '../../../../layers/sharding/slots';

describe('decodeInstructions', () => {
  it('round-trips every kind of instruction', () => {
    const instructions = [
      {
        kind: 'prepare',
        txnId: 't-1',
        orderId: 'o',
        participant: 'stock-1',
        deadline: 1_800_000_000_000,
        items: [{ itemId: '7', quantity: 2 }],
      },
      { kind: 'prepare', txnId: 't-1', orderId: 'o', participant: 'payment-0', deadline: 1_800_000_000_000, userId: 'u', amount: 0 },
      { kind: 'commit', txnId: 't-1', orderId: 'o', participant: 'stock-0' },
      { kind: 'rollback', txnId: 't-1', orderId: 'o', participant: 'payment-1' },
    ] as const;
    for (const instruction of instructions) expect(decodeInstructions(encode(instruction))).toEqual([instruction]);
  });

  it.each([
    [undefined, 'the record has no value'],
    ['not json', 'the value is not JSON'],
    ['[1]', 'the value is not a JSON object'],
    ['{"kind":"explode","txnId":"t","orderId":"o","participant":"stock-0"}', 'kind is not prepare, commit or rollback'],
    ['{"kind":"commit","txnId":"t;drop","orderId":"o","participant":"stock-0"}', 'txnId is not a transaction id'],
    ['{"kind":"commit","txnId":"t","orderId":"o","participant":"order-0"}', 'participant is not a participant like stock-0'],
    [
      '{"kind":"prepare","txnId":"t","orderId":"o","participant":"stock-0","deadline":1,"items":[{"itemId":"i","quantity":0}]}',
      'quantity is not a positive whole quantity',
    ],
    ['{"kind":"prepare","txnId":"t","orderId":"o","participant":"stock-0","deadline":1,"items":"i"}', 'items is not a list of items'],
    [
      '{"kind":"prepare","txnId":"t","orderId":"o","participant":"payment-0","userId":"u","amount":1}',
      'deadline is not a deadline in milliseconds since the epoch',
    ],
    [
      '{"kind":"prepare","txnId":"t","orderId":"o","participant":"payment-0","deadline":1,"userId":"u","amount":-1}',
      'amount is not a whole amount of at least 0',
    ],
    [
      '{"kind":"prepare","txnId":"t","orderId":"o","participant":"payment-0","deadline":1,"userId":"u","amount":1.5}',
      'amount is not a whole amount of at least 0',
    ],
  ])('refuses %p: %s', (text, message) => {
    expect(() => decodeInstructions(text)).toThrow(new MalformedMessageError(message));
  });
});

describe('decodeResults', () => {
  it('round-trips votes and acknowledgements', () => {
    const results = [
      { kind: 'vote', txnId: 't', orderId: 'o', participant: 'stock-0', vote: 'yes' },
      { kind: 'vote', txnId: 't', orderId: 'o', participant: 'payment-0', vote: 'no', refusal: 'insufficient', detail: 'credit 3' },
      { kind: 'ack', txnId: 't', orderId: 'o', participant: 'stock-1', decision: 'rollback' },
    ] as const;
    for (const result of results) expect(decodeResults(encode(result))).toEqual([result]);
  });

  it("round-trips a moved refusal with the participant's map, and refuses one whose map is not a slot map", () => {
    const map = { ...initialSlotMap(2), version: 7, moved: { 3: 1 } };
    const moved: Result = { kind: 'vote', txnId: 't', orderId: 'o', participant: 'stock-1', vote: 'no', refusal: 'moved', map };
    expect(decodeResults(encode(moved))).toEqual([moved]);
    expect(() => decodeResults(encode({ ...moved, map: { version: 'seven' } } as never))).toThrow('map is not a slot map');
  });

  it('refuses a no vote without a known reason', () => {
    expect(() => decodeResults('{"kind":"vote","txnId":"t","orderId":"o","participant":"stock-0","vote":"no","refusal":"bored"}')).toThrow(
      'refusal is not not_found, insufficient, rolled_back',
    );
  });
});

describe('decisions carried in a record of their own participant', () => {
  const commit = { kind: 'commit', txnId: 't', orderId: 'o', participant: 'stock-1' } as const;
  const others = [
    { kind: 'commit', txnId: 'u', orderId: 'p', participant: 'stock-1' },
    { kind: 'commit', txnId: 'v', orderId: 'q', participant: 'stock-1' },
  ] as const;

  it('read back as the decision followed by every carried one', () => {
    expect(decisionRecords([commit, ...others]).map((record) => decodeInstructions(record.value))).toEqual([[commit, ...others]]);
    expect(decisionRecords([commit])).toEqual([{ key: 't', value: encode(commit) }]);
  });

  it('are refused whole when one carried decision is a prepare or for another participant', () => {
    const prepare = { ...commit, kind: 'prepare', deadline: 1, items: [{ itemId: 'i', quantity: 1 }] };
    expect(() => decodeInstructions(decisionRecords([commit, prepare as never])[0]!.value)).toThrow('a carried decision is a prepare');
    expect(() => decodeInstructions(decisionRecords([commit, { ...others[0], participant: 'stock-2' }])[0]!.value)).toThrow(
      'a carried decision is for stock-2, not stock-1',
    );
    expect(() => decodeInstructions(JSON.stringify({ ...commit, decisions: {} }))).toThrow('decisions is not a list of decisions');
  });
});

describe('results carried in one record', () => {
  const vote: Result = { kind: 'vote', txnId: 't', orderId: 'o', participant: 'stock-0', vote: 'yes' };
  const others = [
    { kind: 'vote', txnId: 'w', orderId: 'r', participant: 'stock-1', vote: 'no', refusal: 'insufficient', detail: 'stock 0' },
    { kind: 'ack', txnId: 'u', orderId: 'p', participant: 'stock-1', decision: 'commit' },
    { kind: 'ack', txnId: 'v', orderId: 'q', participant: 'payment-0', decision: 'rollback' },
  ] as const;

  it('read back as the record’s own result followed by every carried one', () => {
    expect(resultRecords([vote, ...others]).map((record) => decodeResults(record.value))).toEqual([[vote, ...others]]);
    expect(resultRecords([vote])).toEqual([{ key: 't', value: encode(vote) }]);
  });

  it('start a new record before one would hold more than RECORD_BYTES, keyed by its first result', () => {
    const votes = Array.from(
      { length: 2_000 },
      (_, index): Result => ({ ...vote, txnId: `t-${index}`, vote: 'no', refusal: 'insufficient', detail: 'x'.repeat(100) }),
    );
    const records = resultRecords(votes);
    expect(records.length).toBeGreaterThan(1);
    for (const record of records) expect(record.value.length).toBeLessThanOrEqual(RECORD_BYTES);
    expect(records.flatMap((record) => decodeResults(record.value))).toEqual(votes);
    expect(records.map((record) => record.key)).toEqual(records.map((record) => decodeResults(record.value)[0]!.txnId));
  });

  it('give a result larger than a record a record of its own', () => {
    const big: Result = { ...vote, txnId: 'big', vote: 'no', refusal: 'moved', detail: 'x'.repeat(RECORD_BYTES) };
    expect(resultRecords([vote, big, vote]).map((record) => decodeResults(record.value).map((result) => result.txnId))).toEqual([
      ['t'],
      ['big'],
      ['t'],
    ]);
  });

  it('are refused whole when one carried result is not one', () => {
    expect(() => decodeResults(resultRecords([vote, { ...others[1], kind: 'nod' } as never])[0]!.value)).toThrow('kind is not vote or ack');
    expect(() => decodeResults(resultRecords([vote, { ...others[1], txnId: '' }])[0]!.value)).toThrow('txnId is not a transaction id');
    expect(() => decodeResults(JSON.stringify({ ...vote, results: 'u' }))).toThrow('results is not a list of results');
    expect(() => decodeResults(JSON.stringify({ ...vote, results: [7] }))).toThrow('a carried result is not an object');
  });
});

describe('participant ids', () => {
  it('name a service and a shard, and read back as them', () => {
    expect(participantOf('stock', 0)).toBe('stock-0');
    expect(participantOf('payment', 12)).toBe('payment-12');
    expect(parseParticipant('stock-3')).toEqual({ service: 'stock', shard: 3 });
    expect(parseParticipant(participantOf('payment', 7))).toEqual({ service: 'payment', shard: 7 });
  });
});
