import type postgres from 'postgres';
import type { ParticipantMaps } from '../twopc/routing';
import { type ClaimSettings, claimOrReadEach } from './claim-statement';
import type { ClaimFound } from '../twopc/order-claim';

/** Claims (or reads) one order for a checkout; see `claimOrReadEach`. Undefined: no such order; 'moved': not this shard's. */
export type ClaimOrRead = (
  sql: postgres.Sql,
  claim: { readonly orderId: string; readonly txnId: string; readonly slot: number; readonly maps: ParticipantMaps },
) => Promise<ClaimFound>;

/** Maps of the same versions are the same maps (a slot map's version names its content). */
const versionsOf = (maps: ParticipantMaps) => `${maps.stock.version}/${maps.payment.version}`;

interface Waiting {
  readonly txnId: string;
  readonly slot: number;
  readonly settle: { resolve: (order: ClaimFound) => void; reject: (error: unknown) => void }[];
}

/**
 * The claims that checkouts make in one turn of the event loop, gathered per order shard into
 * one statement: under load a turn starts several checkouts, and each statement costs a round
 * trip, a commit and a socket write or two on either side (a system call is far from free under
 * a sandbox or a VM). A claim waits for the end of its turn at most. A second checkout of the same
 * order in the same turn gets the order as the first one left it, unclaimed by itself: it joins
 * the first one's transaction, as it would a turn later. Claims routed by maps of other versions
 * (one container read a newer map mid-turn) go in statements of their own.
 */
export function claimsPerTurn(settings: ClaimSettings, claimEach: typeof claimOrReadEach = claimOrReadEach): ClaimOrRead {
  const gathering = new Map<postgres.Sql, Map<string, Map<string, Waiting>>>();

  const send = (sql: postgres.Sql, maps: ParticipantMaps, batch: Map<string, Waiting>) => {
    gathering.get(sql)?.delete(versionsOf(maps));
    const claims = [...batch].map(([orderId, { txnId, slot }]) => ({ orderId, txnId, slot }));
    claimEach(sql, { claims, maps, ...settings }).then(
      (orders) => {
        for (const [orderId, { settle }] of batch) {
          const order = orders.get(orderId);
          for (const [index, { resolve }] of settle.entries()) {
            resolve(order && order !== 'moved' && index > 0 ? { ...order, claimed: false, routes: null } : order);
          }
        }
      },
      (error: unknown) => {
        for (const { settle } of batch.values()) for (const { reject } of settle) reject(error);
      },
    );
  };

  return (sql, { orderId, txnId, slot, maps }) =>
    new Promise((resolve, reject) => {
      let byMaps = gathering.get(sql);
      if (!byMaps) {
        byMaps = new Map();
        gathering.set(sql, byMaps);
      }
      let batch = byMaps.get(versionsOf(maps));
      if (!batch) {
        const created = new Map<string, Waiting>();
        byMaps.set(versionsOf(maps), created);
        setImmediate(() => send(sql, maps, created));
        batch = created;
      }
      const waiting = batch.get(orderId);
      if (waiting) waiting.settle.push({ resolve, reject });
      else batch.set(orderId, { txnId, slot, settle: [{ resolve, reject }] });
    });
}
