import fs from 'node:fs';
import path from 'node:path';
import {
  type ConsumedMessage,
  type KafkaEvent,
  type KafkaEventRecord,
  buildKafkaEvent,
  toEventRecord,
} from '../../../../infra/offline-kafka/event';

/**
 * The fixtures are AWS's documented example events, verbatim:
 * - https://docs.aws.amazon.com/lambda/latest/dg/with-kafka.html ("Example event")
 * - https://docs.aws.amazon.com/lambda/latest/dg/with-msk.html ("Example event")
 */
function fixture(name: string): Record<string, unknown> {
  const file = path.join(__dirname, '..', '..', '..', 'fixtures', 'kafka', name);
  return JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
}

const DOC_BROKERS = [
  'b-2.demo-cluster-1.a1bcde.c1.kafka.us-east-1.amazonaws.com:9092',
  'b-1.demo-cluster-1.a1bcde.c1.kafka.us-east-1.amazonaws.com:9092',
];
const DOC_ARN = 'arn:aws:kafka:us-east-1:123456789012:cluster/vpc-2priv-2pub/751d2973-a626-431c-9d4e-d7975eb44dd7-2';
const DOC_KEY = 'abcDEFghiJKLmnoPQRstuVWXyz1234==';

/** The Kafka record behind AWS's example, as kafkajs would hand it over. */
function docMessage(): ConsumedMessage {
  return {
    key: Buffer.from(DOC_KEY, 'base64'),
    value: Buffer.from('Hello, this is a test.', 'utf8'),
    timestamp: '1545084650987',
    offset: '15',
    attributes: 0,
    headers: { headerKey: Buffer.from('headerValue', 'utf8') },
    batchContext: { timestampType: 0 },
  };
}

function message(overrides: Partial<ConsumedMessage> = {}): ConsumedMessage {
  return { ...docMessage(), ...overrides };
}

/** Field-by-field comparison with AWS's example, so a failure names the differing field. */
function expectSameAsDocumented(actual: KafkaEvent, documented: Record<string, unknown>): void {
  expect(Object.keys(actual).sort()).toEqual(Object.keys(documented).sort());
  for (const field of Object.keys(documented)) {
    if (field === 'records') continue;
    expect({ field, value: (actual as unknown as Record<string, unknown>)[field] }).toEqual({ field, value: documented[field] });
  }
  const documentedRecords = documented.records as Record<string, Record<string, unknown>[]>;
  expect(Object.keys(actual.records)).toEqual(Object.keys(documentedRecords));
  for (const [groupKey, documentedGroup] of Object.entries(documentedRecords)) {
    const actualGroup = actual.records[groupKey] as unknown as Record<string, unknown>[];
    expect(actualGroup).toHaveLength(documentedGroup.length);
    documentedGroup.forEach((documentedRecord, index) => {
      const actualRecord = actualGroup[index]!;
      expect(Object.keys(actualRecord)).toEqual(Object.keys(documentedRecord));
      for (const field of Object.keys(documentedRecord)) {
        if (field === 'key') {
          // The documented key is a placeholder that is not canonical base64 (its last group has
          // stray bits), so no encoder can print it; the bytes it stands for must match.
          expect(Buffer.from(actualRecord.key as string, 'base64')).toEqual(Buffer.from(documentedRecord.key as string, 'base64'));
          expect(Buffer.from(actualRecord.key as string, 'base64').toString('base64')).toBe(actualRecord.key);
        } else {
          expect({ field, value: actualRecord[field] }).toEqual({ field, value: documentedRecord[field] });
        }
      }
    });
  }
}

describe('buildKafkaEvent against AWS documented examples', () => {
  it('reproduces the self-managed Apache Kafka example event', () => {
    const event = buildKafkaEvent({ kind: 'self-managed', bootstrapServers: DOC_BROKERS }, [
      { topic: 'mytopic', partition: 0, messages: [docMessage()] },
    ]);
    expect(event.eventSource).toBe('SelfManagedKafka');
    expectSameAsDocumented(event, fixture('aws-self-managed-kafka-example.json'));
  });

  it('reproduces the Amazon MSK example event', () => {
    const event = buildKafkaEvent({ kind: 'msk', arn: DOC_ARN, bootstrapServers: DOC_BROKERS }, [
      { topic: 'mytopic', partition: 0, messages: [docMessage()] },
    ]);
    expect(event.eventSource).toBe('aws:kafka');
    expectSameAsDocumented(event, fixture('aws-msk-example.json'));
  });

  it('survives a JSON round trip unchanged (what the invoke endpoint transports)', () => {
    const event = buildKafkaEvent({ kind: 'self-managed', bootstrapServers: DOC_BROKERS }, [
      { topic: 'mytopic', partition: 0, messages: [docMessage()] },
    ]);
    expect(JSON.parse(JSON.stringify(event))).toEqual(event);
  });
});

describe('toEventRecord', () => {
  it('omits key when the record has none, as AWS does for keyless records', () => {
    const record = toEventRecord('t', 0, message({ key: null }));
    expect(record).not.toHaveProperty('key');
    expect(record.value).toBe(Buffer.from('Hello, this is a test.').toString('base64'));
  });

  it('omits value for a tombstone (null value)', () => {
    const record = toEventRecord('t', 0, message({ value: null }));
    expect(record).not.toHaveProperty('value');
    expect(record.key).toBeDefined();
  });

  it('keeps an empty key or value as an empty base64 string', () => {
    const record = toEventRecord('t', 0, message({ key: Buffer.alloc(0), value: Buffer.alloc(0) }));
    expect(record.key).toBe('');
    expect(record.value).toBe('');
  });

  it('turns kafkajs string offsets and timestamps into numbers', () => {
    const record = toEventRecord('t', 3, message({ offset: '9007199254740', timestamp: '1700000000123' }));
    expect(record.offset).toBe(9007199254740);
    expect(record.timestamp).toBe(1700000000123);
    expect(record.partition).toBe(3);
  });

  it.each([
    [{ batchContext: { timestampType: 0 } }, 'CREATE_TIME'],
    [{ batchContext: { timestampType: 1 } }, 'LOG_APPEND_TIME'],
    [{ batchContext: undefined, magicByte: 1, attributes: 0x08 }, 'LOG_APPEND_TIME'],
    [{ batchContext: undefined, magicByte: 1, attributes: 0 }, 'CREATE_TIME'],
    [{ batchContext: undefined, magicByte: 0, attributes: 0 }, 'NO_TIMESTAMP_TYPE'],
  ] as const)('reads the timestamp type from %j', (overrides, expected) => {
    expect(toEventRecord('t', 0, message(overrides as Partial<ConsumedMessage>)).timestampType).toBe(expected);
  });

  it('writes header bytes as signed numbers like AWS (Java byte[]), one object per header', () => {
    const record = toEventRecord(
      't',
      0,
      message({ headers: { 'content-type': 'é', trace: [Buffer.from([0x00, 0x7f, 0x80, 0xff]), 'x'], empty: Buffer.alloc(0) } }),
    );
    expect(record.headers).toEqual([{ 'content-type': [-61, -87] }, { trace: [0, 127, -128, -1] }, { trace: [120] }, { empty: [] }]);
  });

  it('gives an empty headers array when there are none', () => {
    expect(toEventRecord('t', 0, message({ headers: {} })).headers).toEqual([]);
    expect(toEventRecord('t', 0, message({ headers: undefined })).headers).toEqual([]);
  });
});

describe('buildKafkaEvent grouping', () => {
  it('groups records under "<topic>-<partition>" keeping offset order', () => {
    const event = buildKafkaEvent({ kind: 'self-managed', bootstrapServers: ['127.0.0.1:9092'] }, [
      { topic: 'orders', partition: 1, messages: [message({ offset: '7' }), message({ offset: '8' })] },
      { topic: 'orders', partition: 0, messages: [message({ offset: '3' })] },
      { topic: 'orders-1', partition: 0, messages: [message({ offset: '1' })] },
    ]);
    expect(event.bootstrapServers).toBe('127.0.0.1:9092');
    expect(Object.keys(event.records)).toEqual(['orders-1', 'orders-0', 'orders-1-0']);
    expect(event.records['orders-1']!.map((record: KafkaEventRecord) => record.offset)).toEqual([7, 8]);
  });
});
