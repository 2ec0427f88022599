import { initialSlotMap } from '../../../layers/sharding/slots';
import {
  type CoordinatorRead,
  DECISION_GRACE_MS,
  LISTED,
  type ParticipantRead,
  type SummaryReads,
  summarise,
} from '../../../functions/ops/summarise';

const maps = { order: initialSlotMap(2), stock: initialSlotMap(2), payment: initialSlotMap(1) };
const slotsEach = maps.order.slotCount / 2;
const kafka = { deadLetters: { count: 0, latest: [] }, consumerLag: [], consumerGroups: [] };

const histogram = (bucket: number, count: number) => Array.from({ length: bucket + 1 }, (_, index) => (index === bucket ? count : 0));

function orderShard(
  shard: number,
  figures: {
    committed: number;
    refused?: number;
    inFlight?: number;
    second?: number;
    undecidedAges?: number[];
    unacknowledgedAges?: number[];
  },
): CoordinatorRead {
  const undecided = (figures.undecidedAges ?? []).map((ageMs, index) => ({ txnId: `u${shard}-${index}`, orderId: `o${index}`, ageMs }));
  const oldestUnacknowledged = (figures.unacknowledgedAges ?? []).map((decidedAgoMs, index) => ({
    txnId: `a${shard}-${index}`,
    orderId: `o${index}`,
    state: 'committed' as const,
    decidedAgoMs,
    missing: ['stock-0'],
  }));
  return {
    shard,
    stats: {
      totals: { committed: figures.committed, refused: figures.refused ?? 0, aborted: 0 },
      seconds: [
        {
          at: figures.second ?? 1_000,
          committed: figures.committed,
          refused: figures.refused ?? 0,
          aborted: 0,
          latency: histogram(3, figures.committed),
        },
      ],
    },
    view: { inFlight: figures.inFlight ?? 0, undecided, unacknowledged: oldestUnacknowledged.length, oldestUnacknowledged },
  };
}

function stockShard(shard: number, figures: { held: string; heldByPrepared: string; prepared?: string[] }): ParticipantRead {
  return {
    name: `stock-${shard}`,
    service: 'stock',
    slots: slotsEach,
    figuresAt: 900,
    figures: { rows: 10, free: '100', prepared: [], ...figures },
  };
}

const reads = (parts: Partial<SummaryReads>): SummaryReads => ({
  now: 5_000,
  coordinators: [],
  participants: [],
  kafka,
  stale: new Set(),
  maps,
  instances: null,
  replication: new Map(),
  errors: [],
  ...parts,
});

describe('summarise', () => {
  it('adds up the order shards: totals, in flight, and one series in which a second of both shards is one point', () => {
    const summary = summarise(
      reads({ coordinators: [orderShard(0, { committed: 3, refused: 1, inFlight: 2 }), orderShard(1, { committed: 5, inFlight: 1 })] }),
    );
    expect([summary.committed, summary.refused, summary.aborted, summary.inFlight]).toEqual([8, 1, 0, 3]);
    expect(summary.perSecond).toEqual([
      { at: 1_000, committed: 8, refused: 1, aborted: 0, p50Ms: expect.any(Number), p99Ms: expect.any(Number) },
    ]);
  });

  it('lists the oldest undecided and unacknowledged transactions of all shards, oldest first, at most LISTED', () => {
    const ages = Array.from({ length: LISTED }, (_, index) => (index + 1) * 100);
    const summary = summarise(
      reads({
        coordinators: [
          orderShard(0, { committed: 0, undecidedAges: ages, unacknowledgedAges: [50] }),
          orderShard(1, { committed: 0, undecidedAges: [5_000], unacknowledgedAges: [70] }),
        ],
      }),
    );
    expect(summary.oldestUndecidedMs).toBe(5_000);
    expect(summary.undecided).toHaveLength(LISTED);
    expect(summary.undecided.map((txn) => txn.ageMs)).toEqual([5_000, ...ages.slice(1).reverse()]);
    expect(summary.oldestUnacknowledged.map((txn) => txn.decidedAgoMs)).toEqual([70, 50]);
    expect(summary.unacknowledged).toBe(2);
  });

  it('shows a shard that could not be read as down, with its slots, and counts nothing of it', () => {
    const summary = summarise(
      reads({
        coordinators: [orderShard(0, { committed: 4 }), { shard: 1, error: 'order-1 did not answer within 1500 ms' }],
        participants: [{ name: 'stock-1', service: 'stock', slots: slotsEach, error: 'connect ECONNREFUSED' }],
        errors: ['order-1: order-1 did not answer within 1500 ms', 'stock-1: connect ECONNREFUSED'],
      }),
    );
    expect(summary.committed).toBe(4);
    expect(summary.shards).toEqual([
      { name: 'order-0', service: 'order', up: true, slots: slotsEach, inFlight: 0, unacknowledged: 0 },
      { name: 'order-1', service: 'order', up: false, error: 'order-1 did not answer within 1500 ms', slots: slotsEach },
      { name: 'stock-1', service: 'stock', up: false, error: 'connect ECONNREFUSED', slots: slotsEach },
    ]);
    expect(summary.errors).toHaveLength(2);
  });

  it('says a participant agrees with its coordinators only when its rows hold what its prepared records hold and none of those is long decided', () => {
    const summary = summarise(
      reads({
        participants: [
          stockShard(0, { held: '3', heldByPrepared: '3', prepared: ['t1'] }),
          stockShard(1, { held: '5', heldByPrepared: '2', prepared: ['t2'] }),
          { ...stockShard(2, { held: '1', heldByPrepared: '1', prepared: ['t3'] }), name: 'stock-2' },
        ],
        stale: new Set(['t3']),
      }),
    );
    const [agreeing, holdingMore, holdingDecided] = summary.shards;
    expect(agreeing).toMatchObject({
      name: 'stock-0',
      up: true,
      agrees: true,
      disagreements: [],
      held: '3',
      free: '100',
      rows: 10,
      figuresAt: 900,
    });
    expect(holdingMore).toMatchObject({ agrees: false, disagreements: ['holds 5 in its rows, but its prepared transactions hold 2'] });
    expect(holdingDecided).toMatchObject({
      agrees: false,
      disagreements: [`still holds t3, decided over ${DECISION_GRACE_MS / 1000} s ago`],
    });
  });

  it("gives each shard its primary's replication where it was read, and none where it was not", () => {
    const summary = summarise(
      reads({
        coordinators: [orderShard(0, { committed: 1 }), orderShard(1, { committed: 1 })],
        replication: new Map([['order-0', 'unreplicated']]),
      }),
    );

    expect(summary.shards.map((shard) => [shard.name, shard.replication])).toEqual([
      ['order-0', 'unreplicated'],
      ['order-1', undefined],
    ]);
  });

  it('describes each slot map: version, slots, retired shards and the move under way', () => {
    const moving = { ...maps.stock, version: 7, retired: [1], pending: { kind: 'remove' as const, shard: 1 } };
    const summary = summarise(reads({ maps: { ...maps, stock: moving } }));
    expect(summary.slotMaps.stock).toEqual({
      version: 7,
      slotCount: maps.stock.slotCount,
      retired: ['stock-1'],
      pending: { kind: 'remove', shard: 'stock-1' },
    });
    expect(summary.slotMaps.payment).toEqual({
      version: maps.payment.version,
      slotCount: maps.payment.slotCount,
      retired: [],
      pending: null,
    });
  });

  it('is empty, not broken, for a shop with nothing yet', () => {
    const summary = summarise(reads({}));
    expect(summary).toMatchObject({
      at: 5_000,
      committed: 0,
      perSecond: [],
      inFlight: 0,
      oldestUndecidedMs: null,
      undecided: [],
      shards: [],
      errors: [],
    });
  });
});
