import { randomUUID } from 'node:crypto';
import type postgres from 'postgres';
import type { ShardSet } from '../../layers/db/shards';
import { AppError, ConflictError, NotFoundError } from '../../layers/errors';
import type { RouteResult } from '../../layers/http/router';
import type { KafkaConnection } from '../../layers/kafka/connection';
import { type Outbox, sendOutbox } from '../../layers/kafka/producer';
import type { Transaction } from '../../layers/twopc/coordinator';
import type { ParticipantId } from '../../layers/twopc/messages';
import { prepareInstructions } from '../../layers/twopc/routing';
import { abortIfUndecided, queueInstructions } from './coordination';
import type { DecisionWaiter, WaitOutcome } from './decision-waiter';
import type { ClaimOrRead } from './claims-per-turn';
import { announcementOf, readTransaction } from './transactions';
import { describe, logger } from '../../layers/logging/logger';

export interface CheckoutDeps {
  readonly orders: ShardSet;
  readonly shardCounts: { readonly stock: number; readonly payment: number };
  readonly kafka: KafkaConnection;
  readonly waiter: DecisionWaiter;
  /** how long a transaction may stay undecided before it is aborted */
  readonly timeoutMs: number;
  /** reads an order and claims it if it is free (`claimsPerTurn`, or one statement per claim) */
  readonly claimOrRead: ClaimOrRead;
}

/** A checkout that ran out of time: aborted, nothing taken, safe to retry (5xx by the API's rules). */
export class CheckoutTimeoutError extends AppError {
  constructor(message: string) {
    super(message, 503);
  }
}

/** A claim lost to a concurrent change of the order is retried this many times before giving up with 503. */
const CLAIM_ATTEMPTS = 5;

type Begun =
  | { readonly kind: 'paid' }
  | { readonly kind: 'joined' | 'started'; readonly txnId: string; readonly prepares: Outbox };

/**
 * Finds what checking out the order means now: it is paid already, another checkout's
 * transaction is deciding it (this one joins it), or a new transaction starts. One statement
 * reads the order and claims it if it is free, so two concurrent checkouts of one order make one
 * transaction: the second finds the first's and joins it. Either way the transaction's prepares
 * come along: a claimed order cannot change, so a joining checkout builds the same ones, and
 * sends them again if the transaction is still undecided (its first checkout may have died
 * before sending them; a participant answers a repeat from its record).
 */
async function begin(deps: CheckoutDeps, sql: postgres.Sql, orderId: string): Promise<Begun> {
  for (let attempt = 1; attempt <= CLAIM_ATTEMPTS; attempt++) {
    // By this instance's clock; the log's deadline is the database's. Only a prepare's lateness
    // by far more than any skew matters to a participant (`lateRefusal`).
    const deadline = Date.now() + deps.timeoutMs;
    const order = await deps.claimOrRead(sql, { txnId: randomUUID(), orderId });
    if (!order) throw new NotFoundError(`order ${orderId} not found`);
    if (order.paid) return { kind: 'paid' };
    if (!order.checkout_txn) continue;
    const txnId = order.checkout_txn;
    const prepares = prepareInstructions(
      {
        txnId,
        orderId,
        userId: order.user_id,
        totalCost: order.total_cost,
        lines: Object.entries(order.items).map(([itemId, quantity]) => ({ itemId, quantity: Number(quantity) })),
        deadline,
      },
      deps.shardCounts,
    );
    if (order.claimed) assertLoggedParticipants(order.participants ?? [], prepares);
    const outbox: Outbox = new Map();
    queueInstructions(outbox, prepares);
    return { kind: order.claimed ? 'started' : 'joined', txnId, prepares: outbox };
  }
  throw new CheckoutTimeoutError(`order ${orderId} kept changing while being checked out; nothing was taken, retry`);
}

/**
 * The log's participants come from the database's routing, the prepares from this code's: were
 * they ever to differ, votes could never all arrive and every checkout would time out, so say it
 * loudly instead (the transaction then times out and is rolled back; nothing is taken).
 */
function assertLoggedParticipants(logged: readonly ParticipantId[], prepares: readonly { readonly participant: ParticipantId }[]): void {
  const routed = prepares.map((prepare) => prepare.participant);
  if (logged.length !== routed.length || logged.some((participant, index) => participant !== routed[index])) {
    throw new AppError(`the 2PC log's participants (${logged.join(', ')}) differ from the prepares' (${routed.join(', ')}): shard_of in the order database and layers/sharding disagree`, 500);
  }
}

/**
 * Checks out an order by two-phase commit and replies with the decision: 200 once committed,
 * 409/404 once aborted and every reservation given back, 503 when that cannot be said in time
 * (an undecided transaction is then aborted here, so nothing is taken).
 */
export async function checkout(deps: CheckoutDeps, orderId: string): Promise<RouteResult> {
  const sql = deps.orders.forId(orderId);
  const paid = { body: { order_id: orderId, paid: true } };
  const begun = await begin(deps, sql, orderId);
  if (begun.kind === 'paid') return paid;
  const { txnId } = begun;
  let deadline = Date.now() + deps.timeoutMs;
  const left = () => Math.max(0, deadline - Date.now());
  const fromLog = async () => {
    const txn = await readTransaction(sql, txnId);
    return txn && announcementOf(txn);
  };

  // Until decided. A new transaction's prepares leave once its waiter listens, so even an
  // instant decision wakes it; a joined one may be decided already, so the log is read first,
  // and its prepares leave again only if it is not.
  let outcome: WaitOutcome;
  try {
    outcome = await deps.waiter.next(sql, txnId, left(), async () => {
      const decided = begun.kind === 'joined' ? await fromLog() : undefined;
      if (!decided) await sendOutbox(deps.kafka, begun.prepares);
      return decided;
    });
    while (outcome === 'reread') outcome = await deps.waiter.next(sql, txnId, left(), fromLog);
  } catch (error) {
    logger.error('checkout could not complete its prepare phase', { txnId, orderId, error: describe(error) });
    outcome = 'timeout';
  }
  if (outcome !== 'timeout' && outcome.state === 'committed') return paid;

  const decided = outcome === 'timeout' ? await settle(deps, sql, txnId) : await readTransaction(sql, txnId);
  if (decided?.state === 'aborted' && !announcementOf(decided)!.complete) {
    // A 4xx promises that nothing is taken: wait (bounded) until every reservation is given back.
    // The log is read once listening (an acknowledgement may have come since it was read above)
    // and after a reconnect; otherwise each announcement says whether all are in.
    deadline = Date.now() + deps.timeoutMs;
    let complete = false;
    let mustRead = true;
    while (!complete && left() > 0) {
      const next = await deps.waiter.next(sql, txnId, left(), async () => {
        const logged = mustRead ? await fromLog() : undefined;
        return logged?.complete ? logged : undefined;
      });
      mustRead = next === 'reread';
      complete = typeof next === 'object' && next.complete;
    }
    if (!complete) {
      throw new CheckoutTimeoutError(`checkout of order ${orderId} was aborted, but not every reservation is given back yet; retry`);
    }
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
    logger.error('rollbacks left to the resolver', { txnId, error: describe(error) }),
  );
  return settled.get(txnId);
}

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
