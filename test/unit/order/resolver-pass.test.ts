import type postgres from 'postgres';
import { publishPassMetrics, resolverPass } from '../../../functions/order/resolver-pass';
import { type ShardSet, shardSetOf } from '../../../layers/db/shards';
import { initialSlotMap } from '../../../layers/sharding/slots';
import type { Outbox } from '../../../layers/kafka/producer';
import { TOPICS } from '../../../layers/kafka/topics';

const REFUSED = new Error('connect ECONNREFUSED 127.0.0.1:24410');
/** Per shard, its oldest undecided transaction's age, or the error measuring it meets. */
const undecidedAges = new Map<number, number | Error>();

/** The pass's own logic: one shard that cannot be reached must not stop the others' work. The log's queries are stand-ins here. */
jest.mock('../../../layers/coordinator/transactions', () => ({
  ...jest.requireActual('../../../layers/coordinator/transactions'),
  forgetCompleted: async () => 7,
  oldestUndecidedAgeMs: async (sql: { shard: number }) => {
    const age = undecidedAges.get(sql.shard) ?? 0;
    if (age instanceof Error) throw age;
    return age;
  },
}));
jest.mock('../../../layers/db/idempotency', () => ({
  ...jest.requireActual('../../../layers/db/idempotency'),
  forgetOldKeys: async () => 3,
}));
jest.mock('../../../layers/db/spanning-orphans', () => ({
  ...jest.requireActual('../../../layers/db/spanning-orphans'),
  settleSpanningOrphans: async () => ({ settled: 1, failed: [] }),
}));
jest.mock('../../../layers/coordinator/checkout-stats', () => ({
  ...jest.requireActual('../../../layers/coordinator/checkout-stats'),
  foldOldSeconds: async () => 0,
}));
jest.mock('../../../layers/coordinator/decision-sends', () => ({
  ...jest.requireActual('../../../layers/coordinator/decision-sends'),
  abortExpired: async (sql: { shard: number }) => {
    if (sql.shard === 0) throw new Error('connect ECONNREFUSED 127.0.0.1:24410');
    return [{ kind: 'rollback', txnId: `expired-on-${sql.shard}`, orderId: 'o', participant: 'stock-0' }];
  },
  owedDecisions: async (sql: { shard: number }) => [
    { kind: 'commit', txnId: `owed-on-${sql.shard}`, orderId: 'o', participant: 'payment-1' },
  ],
}));

const orders: ShardSet = shardSetOf(
  new Map(Array.from({ length: 3 }, (_, shard) => [shard, { shard } as unknown as postgres.Sql])),
  initialSlotMap(3),
);
const settings = { resendPauseMs: 1000, batch: 10, retentionMs: 3_600_000, keyRetentionMs: 86_400_000 };

beforeEach(() => undecidedAges.clear());

it('does the work of every shard it can reach, and reports the one it cannot', async () => {
  undecidedAges.set(0, REFUSED).set(1, 1_200).set(2, 800);
  const sent: Outbox[] = [];
  const totals = await resolverPass(orders, async (outbox) => void sent.push(outbox), settings);

  expect(totals).toEqual({
    aborted: 2,
    resent: 2,
    forgotten: 14,
    keysForgotten: 6,
    orphansSettled: 1,
    oldestUndecidedAgeMs: 1_200,
    failed: [{ shard: 0, error: REFUSED }],
  });
  const keys = (topic: string) => (sent[0]!.get(topic) ?? []).map((message) => message.key).sort();
  expect(keys(TOPICS.stockInstructions)).toEqual(['expired-on-1', 'expired-on-2']);
  expect(keys(TOPICS.paymentInstructions)).toEqual(['owed-on-1', 'owed-on-2']);
});

it('measures what stays undecided on a shard whose aborts failed, and has no age when no shard could be measured', async () => {
  undecidedAges.set(0, 61_000);
  expect((await resolverPass(orders, async () => undefined, settings)).oldestUndecidedAgeMs).toBe(61_000);

  for (const shard of [0, 1, 2]) undecidedAges.set(shard, REFUSED);
  const totals = await resolverPass(orders, async () => undefined, settings);
  expect(totals.oldestUndecidedAgeMs).toBeUndefined();
  expect(totals.failed.map((failure) => failure.shard).sort()).toEqual([0, 1, 2]);
});

describe('publishPassMetrics', () => {
  /** The EMF lines written to stdout while `run` runs. */
  function emfWritten(run: () => void): Record<string, unknown>[] {
    const written: string[] = [];
    const spy = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      written.push(String(chunk));
      return true;
    });
    try {
      run();
    } finally {
      spy.mockRestore();
    }
    return written
      .join('')
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as Record<string, unknown>)
      .filter((line) => '_aws' in line);
  }

  it('publishes at once how many transactions the pass found past their deadline and the oldest left undecided', () => {
    const [emf, ...more] = emfWritten(() => publishPassMetrics({ aborted: 3, oldestUndecidedAgeMs: 4_500 }));
    expect(more).toEqual([]);
    expect(emf).toMatchObject({
      _aws: {
        CloudWatchMetrics: [
          {
            Namespace: 'Shop',
            Dimensions: [['service', 'stage']],
            Metrics: [
              { Name: 'UndecidedPastDeadline', Unit: 'Count' },
              { Name: 'OldestUndecidedAgeMs', Unit: 'Milliseconds' },
            ],
          },
        ],
      },
      UndecidedPastDeadline: 3,
      OldestUndecidedAgeMs: 4_500,
    });
  });

  it('publishes a quiet pass too (the age alarm takes silence as the resolver not working), but no age it did not measure', () => {
    expect(emfWritten(() => publishPassMetrics({ aborted: 0, oldestUndecidedAgeMs: 0 }))).toMatchObject([
      { UndecidedPastDeadline: 0, OldestUndecidedAgeMs: 0 },
    ]);
    const [unmeasured] = emfWritten(() => publishPassMetrics({ aborted: 0, oldestUndecidedAgeMs: undefined }));
    expect(unmeasured).not.toHaveProperty('OldestUndecidedAgeMs');
  });
});
