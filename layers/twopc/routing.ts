import { groupByShard } from '../sharding/shard';
import type { SlotMap } from '../sharding/slots';
import { type PreparePayment, type PrepareStock, type StockLine, participantOf } from './messages';

/** The slot maps a checkout routes its prepares by. */
export interface ParticipantMaps {
  readonly stock: SlotMap;
  readonly payment: SlotMap;
}

/** What a checkout asks of whom. */
export interface CheckoutRequest {
  readonly txnId: string;
  readonly orderId: string;
  readonly userId: string;
  readonly totalCost: number;
  readonly lines: readonly StockLine[];
  /** When the coordinator gives up on the transaction, ms since the epoch. */
  readonly deadline: number;
}

/**
 * Where a checkout's keys go, as its claim logged it (`checkout_routes` in the order database):
 * each item's stock shard and the user's payment shard.
 */
export interface LoggedRouting {
  readonly stock: Readonly<Record<string, number>>;
  readonly payment: number;
}

/**
 * The prepares of a checkout, by its logged routing: one per stock shard holding any of its
 * items, in shard order, and one for the payment shard holding its user (the order of the log's
 * participants). An empty order still asks payment, so an unknown user aborts it.
 */
export function prepareInstructions(request: CheckoutRequest, routes: LoggedRouting): (PrepareStock | PreparePayment)[] {
  const { txnId, orderId, deadline } = request;
  const stock: PrepareStock[] = [
    ...groupByShard(
      request.lines,
      (line) => line.itemId,
      (id) => {
        const shard = routes.stock[id];
        // A claimed order cannot change, so its routing names every item it holds.
        if (shard === undefined) throw new Error(`transaction ${txnId}: its logged routing names no stock shard for item ${id}`);
        return shard;
      },
    ),
  ].map(([shard, items]) => ({ kind: 'prepare' as const, txnId, orderId, participant: participantOf('stock', shard), deadline, items }));
  const payment: PreparePayment = {
    kind: 'prepare',
    txnId,
    orderId,
    participant: participantOf('payment', routes.payment),
    deadline,
    userId: request.userId,
    amount: request.totalCost,
  };
  return [...stock, payment];
}
