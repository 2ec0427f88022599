import type postgres from 'postgres';
import { claimsPerTurn } from '../../../../layers/coordinator/claims-per-turn';
import type { Claim } from '../../../../layers/coordinator/claim-statement';
import type { OrderForCheckout } from '../../../../layers/twopc/order-claim';
import { initialSlotMap } from '../../../../layers/sharding/slots';
import type { ParticipantMaps } from '../../../../layers/twopc/routing';

const settings = { timeoutMs: 5_000 };
const maps: ParticipantMaps = { stock: initialSlotMap(2), payment: initialSlotMap(2) };
const shardA = {} as postgres.Sql;
const shardB = {} as postgres.Sql;

const order = (txn: string): OrderForCheckout => ({
  user_id: 'u',
  paid: false,
  total_cost: 1,
  items: { i: 1 },
  checkout_txn: txn,
  claimed: true,
  routes: { stock: { i: 0 }, payment: 0 },
});

/** A stand-in for the statement: claims every order it is given, records each call. */
function recorder() {
  const calls: { sql: postgres.Sql; claims: Claim[] }[] = [];
  const claimEach = async (sql: postgres.Sql, { claims }: { readonly claims: readonly Claim[] }) => {
    calls.push({ sql, claims: [...claims] });
    return new Map(
      claims
        .filter((claim) => claim.orderId !== 'missing')
        .map((claim) => [claim.orderId, claim.orderId === 'elsewhere' ? ('moved' as const) : order(claim.txnId)]),
    );
  };
  return { calls, claimEach };
}

/** Checkouts claiming in one turn on shard A by the same maps, each `[orderId, txnId]`: what each found, and the statements sent. */
async function inOneTurn(...claims: [orderId: string, txnId: string][]) {
  const { calls, claimEach } = recorder();
  const claim = claimsPerTurn(settings, claimEach);
  const found = await Promise.all(claims.map(([orderId, txnId]) => claim(shardA, { orderId, txnId, slot: 7, maps })));
  return { calls, found };
}

describe('claimsPerTurn', () => {
  it('sends the claims of one turn on one shard as one statement, and each checkout gets its own order', async () => {
    const {
      calls,
      found: [first, second],
    } = await inOneTurn(['1', 't1'], ['2', 't2']);
    expect(calls).toEqual([
      {
        sql: shardA,
        claims: [
          { orderId: '1', txnId: 't1', slot: 7 },
          { orderId: '2', txnId: 't2', slot: 7 },
        ],
      },
    ]);
    expect(first).toMatchObject({ checkout_txn: 't1', claimed: true });
    expect(second).toMatchObject({ checkout_txn: 't2', claimed: true });
  });

  it('gathers claims routed by maps of the same versions, read apart (each checkout reads its maps), and keeps other versions apart', async () => {
    const { calls, claimEach } = recorder();
    const claim = claimsPerTurn(settings, claimEach);
    const sameVersions = (): ParticipantMaps => ({ stock: initialSlotMap(2), payment: initialSlotMap(2) });
    const newerStock: ParticipantMaps = { ...sameVersions(), stock: { ...initialSlotMap(2), version: 2 } };
    await Promise.all([
      claim(shardA, { orderId: '1', txnId: 't1', slot: 7, maps: sameVersions() }),
      claim(shardA, { orderId: '2', txnId: 't2', slot: 7, maps: sameVersions() }),
      claim(shardA, { orderId: '3', txnId: 't3', slot: 7, maps: newerStock }),
    ]);
    expect(calls.map((call) => call.claims.map((one) => one.orderId))).toEqual([['1', '2'], ['3']]);
  });

  it('keeps shards apart, and starts a new statement in the next turn', async () => {
    const { calls, claimEach } = recorder();
    const claim = claimsPerTurn(settings, claimEach);
    await Promise.all([
      claim(shardA, { orderId: '1', txnId: 't1', slot: 7, maps }),
      claim(shardB, { orderId: '2', txnId: 't2', slot: 7, maps }),
    ]);
    await claim(shardA, { orderId: '3', txnId: 't3', slot: 7, maps });
    expect(calls.map(({ sql, claims }) => [sql === shardA ? 'A' : 'B', claims.map((c) => c.orderId)])).toEqual([
      ['A', ['1']],
      ['B', ['2']],
      ['A', ['3']],
    ]);
  });

  it('tells every checkout of an order whose slot the shard does not own that it moved', async () => {
    const { found } = await inOneTurn(['elsewhere', 't1'], ['elsewhere', 't2']);
    expect(found).toEqual(['moved', 'moved']);
  });

  it('claims an order once when two checkouts of it share a turn: the second joins the first one’s transaction', async () => {
    const {
      calls,
      found: [first, second],
    } = await inOneTurn(['1', 't1'], ['1', 't2']);
    expect(calls[0]!.claims).toEqual([{ orderId: '1', txnId: 't1', slot: 7 }]);
    expect(first).toMatchObject({ checkout_txn: 't1', claimed: true });
    expect(second).toMatchObject({ checkout_txn: 't1', claimed: false, routes: null });
  });

  it('keeps claims routed by different slot maps in statements of their own', async () => {
    const { calls, claimEach } = recorder();
    const claim = claimsPerTurn(settings, claimEach);
    const newer: ParticipantMaps = { ...maps, stock: { ...maps.stock, version: 2 } };
    await Promise.all([
      claim(shardA, { orderId: '1', txnId: 't1', slot: 7, maps }),
      claim(shardA, { orderId: '2', txnId: 't2', slot: 7, maps: newer }),
    ]);
    expect(calls.map(({ claims }) => claims.map((c) => c.orderId))).toEqual([['1'], ['2']]);
  });

  it('answers undefined for an order that does not exist, and fails every claim of a statement that failed', async () => {
    const { claimEach } = recorder();
    expect(await claimsPerTurn(settings, claimEach)(shardA, { orderId: 'missing', txnId: 't', slot: 7, maps })).toBeUndefined();
    const failing = claimsPerTurn(settings, async () => {
      throw new Error('connection lost');
    });
    const results = await Promise.allSettled([
      failing(shardA, { orderId: '1', txnId: 't1', slot: 7, maps }),
      failing(shardA, { orderId: '2', txnId: 't2', slot: 7, maps }),
    ]);
    expect(results.map((result) => result.status)).toEqual(['rejected', 'rejected']);
  });
});
