import { randomUUID } from 'node:crypto';
import type postgres from 'postgres';
import type { ShardSet } from '../../layers/db/shards';
import { AppError, ConflictError, NotFoundError } from '../../layers/errors';
import type { RouteResult } from '../../layers/http/router';
import type { KafkaConnection } from '../../layers/kafka/connection';
import { type Outbox, sendOutbox } from '../../layers/kafka/producer';
import type { Transaction } from '../../layers/twopc/coordinator';
import { prepareInstructions } from '../../layers/twopc/routing';
import { abortIfUndecided, queueInstructions } from './coordination';
import type { DecisionWaiter } from './decision-waiter';
import { insertTransaction, readTransaction } from './transactions';

export interface CheckoutDeps {
  readonly orders: ShardSet;
  readonly shardCounts: { readonly stock: number; readonly payment: number };
  readonly kafka: KafkaConnection;
  readonly waiter: DecisionWaiter;
  /** how long a transaction may stay undecided before it is aborted */
  readonly timeoutMs: number;
}

/** A checkout that ran out of time: aborted, nothing taken, safe to retry (5xx by the API's rules). */
export class CheckoutTimeoutError extends AppError {
  constructor(message: string) {
    super(message, 503);
  }
}

interface OrderForCheckout {
  user_id: string;
  paid: boolean;
  total_cost: number;
  items: Record<string, number>;
  checkout_txn: string | null;
}

/**
 * Checks out an order by two-phase commit and replies with the decision. The order row is
 * locked while the log entry is written, so two concurrent checkouts of one order make one
 * transaction: the second finds it and waits for the same decision.
 */
export async function checkout(deps: CheckoutDeps, orderId: string): Promise<RouteResult> {
  const sql = deps.orders.forId(orderId);
  const paid = { body: { order_id: orderId, paid: true } };
  const outbox: Outbox = new Map();
  const txnId = await sql.begin(async (tx) => {
    const [order] = await tx<OrderForCheckout[]>`
      select user_id, paid, total_cost::float8 as total_cost, items, checkout_txn
      from orders where order_id = ${orderId} for update`;
    if (!order) throw new NotFoundError(`order ${orderId} not found`);
    if (order.paid) return undefined;
    if (order.checkout_txn) return order.checkout_txn;
    const newTxnId = randomUUID();
    const prepares = prepareInstructions(
      {
        txnId: newTxnId,
        orderId,
        userId: order.user_id,
        totalCost: order.total_cost,
        lines: Object.entries(order.items).map(([itemId, quantity]) => ({ itemId, quantity: Number(quantity) })),
      },
      deps.shardCounts,
    );
    await Promise.all([
      insertTransaction(tx, newTxnId, orderId, prepares.map((prepare) => prepare.participant), deps.timeoutMs),
      tx`update orders set checkout_txn = ${newTxnId} where order_id = ${orderId}`,
    ]);
    queueInstructions(outbox, prepares);
    return newTxnId;
  });
  if (txnId === undefined) return paid;

  let decided: Transaction | undefined;
  const isDecided = async () => {
    decided = await readTransaction(sql, txnId);
    return decided !== undefined && decided.state !== 'preparing';
  };
  let announced = false;
  try {
    // Subscribed before the prepares leave, so even an instant decision wakes this wait.
    announced = await deps.waiter.wait(sql, txnId, deps.timeoutMs, async () => {
      await sendOutbox(deps.kafka, outbox);
      return isDecided();
    });
  } catch (error) {
    console.error(JSON.stringify({ level: 'error', msg: 'checkout could not complete its prepare phase', txnId, error: String(error) }));
  }
  if (!announced || !(await isDecided())) decided = await settle(deps, sql, txnId);
  if (decided?.state === 'aborted' && !isComplete(decided)) {
    // A 4xx promises that nothing is taken: wait (bounded) until every reservation is given back.
    await deps.waiter.waitUntil(sql, txnId, deps.timeoutMs, async () => {
      decided = (await readTransaction(sql, txnId)) ?? decided;
      return isComplete(decided!);
    });
    decided = (await readTransaction(sql, txnId)) ?? decided;
  }
  return replyFor(decided, orderId, paid);
}

/**
 * The wait ran out (or the prepares could not be sent): abort unless a decision got there first.
 * The rollbacks are sent at once if Kafka takes them; if not, the resolver sends them later,
 * since the decision is already in the log.
 */
async function settle(deps: CheckoutDeps, sql: postgres.Sql, txnId: string): Promise<Transaction | undefined> {
  const { sends, settled } = await abortIfUndecided(sql, [txnId]);
  const rollbacks: Outbox = new Map();
  queueInstructions(rollbacks, sends);
  await sendOutbox(deps.kafka, rollbacks).catch((error: unknown) =>
    console.error(JSON.stringify({ level: 'error', msg: 'rollbacks left to the resolver', txnId, error: String(error) })),
  );
  return settled.get(txnId);
}

const isComplete = (txn: Transaction) => txn.participants.every((participant) => txn.acked.includes(participant));

function replyFor(txn: Transaction | undefined, orderId: string, paid: RouteResult): RouteResult {
  if (txn?.state === 'committed') return paid;
  const detail = txn?.abortDetail ? `: ${txn.abortDetail}` : '';
  switch (txn?.abortReason) {
    case 'not_found':
      throw new NotFoundError(`checkout of order ${orderId} aborted${detail}`);
    case 'insufficient':
      throw new ConflictError(`checkout of order ${orderId} aborted${detail}`);
    default:
      throw new CheckoutTimeoutError(`checkout of order ${orderId} was not decided in time and was aborted; nothing was taken, retry`);
  }
}
