import { groupByShard } from '../sharding/shard';
import { ownerOf, type SlotMap } from '../sharding/slots';
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
 * The prepares of a checkout: one per stock shard holding any of its items, and one for the
 * payment shard holding its user. An empty order still asks payment, so an unknown user aborts it.
 */
export function prepareInstructions(request: CheckoutRequest, maps: ParticipantMaps): (PrepareStock | PreparePayment)[] {
  const { txnId, orderId, deadline } = request;
  const stock: PrepareStock[] = [
    ...groupByShard(
      request.lines,
      (line) => line.itemId,
      (id) => ownerOf(id, maps.stock),
    ),
  ].map(([shard, items]) => ({ kind: 'prepare' as const, txnId, orderId, participant: participantOf('stock', shard), deadline, items }));
  const payment: PreparePayment = {
    kind: 'prepare',
    txnId,
    orderId,
    participant: participantOf('payment', ownerOf(request.userId, maps.payment)),
    deadline,
    userId: request.userId,
    amount: request.totalCost,
  };
  return [...stock, payment];
}
