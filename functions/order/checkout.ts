import { randomUUID } from 'node:crypto';
import type { ShardSet } from '../../layers/db/shards';
import type { SlotMapCache } from '../../layers/db/slot-map-cache';
import { LOCK_NOT_AVAILABLE } from '../../layers/db/bounded-locks';
import { AppError, ConflictError, NotFoundError, OutcomeUnknownError, UnavailableError } from '../../layers/errors';
import { isUnavailable } from '../../layers/http/unavailable';
import type { RouteResult } from '../../layers/http/router';
import type { KafkaConnection } from '../../layers/config/kafka';
import { type Outbox, sendOutbox } from '../../layers/kafka/producer';
import { describe, logger } from '../../layers/logging/logger';
import { type CheckoutOutcome, type CheckoutPorts, runCheckout } from './checkout-use-case';
import type { ClaimOrRead } from '../../layers/coordinator/claims-per-turn';
import { abortIfUndecided, queueInstructions } from '../../layers/coordinator/decision-sends';
import type { DecisionWaiter } from '../../layers/coordinator/decision-waiter';
import { readTransaction } from '../../layers/coordinator/transactions';
import { announcementOf } from '../../layers/coordinator/announcements';
import { type LearnedMaps, readLearnedMaps } from '../../layers/coordinator/learned-maps';
import type { ParticipantService } from '../../layers/config/services';

export interface CheckoutDeps {
  readonly orders: ShardSet;
  /** The participants' slot maps (Secrets Manager, kept a few seconds). */
  readonly slotMaps: SlotMapCache;
  readonly kafka: KafkaConnection;
  readonly waiter: DecisionWaiter;
  /** how long a transaction may stay undecided before it is aborted */
  readonly timeoutMs: number;
  /** reads an order and claims it if it is free (`claimsPerTurn`) */
  readonly claimOrRead: ClaimOrRead;
}

/** A checkout that could not be decided or confirmed in time: nothing taken, safe to retry (5xx by the API's rules). */
export class CheckoutTimeoutError extends UnavailableError {}

/**
 * `POST /orders/checkout/{order_id}`: the checkout's use-case on the order's shard, its outcome as
 * the API's reply. A database or the broker lost midway leaves the outcome unknown (the claim may
 * have been logged and its Prepares sent), never "nothing changed": a retry is safe, and answers
 * with the order's outcome.
 */
export async function checkout(deps: CheckoutDeps, orderId: string): Promise<RouteResult> {
  let outcome: CheckoutOutcome;
  try {
    outcome = await runCheckout(portsFor(deps, orderId), deps, orderId);
  } catch (error) {
    if (error instanceof AppError || !(isUnavailable(error) || (error as { code?: unknown }).code === LOCK_NOT_AVAILABLE)) throw error;
    throw new OutcomeUnknownError(
      `checkout of order ${orderId} lost its database or the message broker midway: it may or may not commit; retry it (a checkout is idempotent per order, and a retry answers with its outcome)`,
      { cause: error },
    );
  }
  return replyFor(outcome, orderId);
}

/** A move of the order's slot is followed this many times for one read of the log. */
const LOG_MOVES_FOLLOWED = 3;

/** The use-case's ports, bound to the order's shard (the one a newer map names, once it moved), Kafka and the shard's decision announcements. */
function portsFor(deps: CheckoutDeps, orderId: string): CheckoutPorts {
  let orders = deps.orders;
  let sql = orders.forId(orderId);
  const send = (instructions: Parameters<typeof queueInstructions>[1]) => {
    const outbox: Outbox = new Map();
    queueInstructions(outbox, instructions);
    return sendOutbox(deps.kafka, outbox);
  };
  const reroute = async () => {
    const before = orders.ownerOf(orderId);
    orders = await orders.newer();
    sql = orders.forId(orderId);
    return orders.ownerOf(orderId) !== before;
  };
  // Once decided and acknowledged, a transaction moves with its order's slot (`npm run shards`):
  // one the order's shard no longer knows is read again where a newer map puts it.
  const read = async (txnId: string) => {
    for (let followed = 0; ; followed++) {
      const txn = await readTransaction(sql, txnId);
      if (txn || followed === LOG_MOVES_FOLLOWED || !(await reroute())) return txn;
    }
  };
  return {
    log: {
      claimOrRead: (id, txnId, maps) => deps.claimOrRead(sql, { orderId: id, txnId, slot: orders.slotOf(id), maps }),
      reroute,
      read,
      abortIfUndecided: async (txnId) => {
        const { sends, settled } = await abortIfUndecided(sql, [txnId]);
        return { settled: settled.get(txnId), rollbacks: sends };
      },
    },
    outbox: { send },
    decisions: {
      until: (txnId, timeoutMs, stage, options) =>
        deps.waiter.until(
          sql,
          txnId,
          timeoutMs,
          stage,
          async () => {
            const txn = await read(txnId);
            return txn && announcementOf(txn);
          },
          options,
        ),
    },
    routes: {
      current: async () => ({ stock: await deps.slotMaps.current('stock'), payment: await deps.slotMaps.current('payment') }),
      newerThan: async (used) => {
        // A participant that refused a key as moved left its own map on the order's shard: newer
        // than the published one while a mover holds maps back, or died before publishing them.
        const learned = await readLearnedMaps(sql).catch((): LearnedMaps => ({}));
        const newer = async (service: ParticipantService) => {
          const published = await deps.slotMaps.newerThan(service, used[service].version);
          const copy = learned[service];
          return copy && copy.version > published.version ? deps.slotMaps.learned(service, copy) : published;
        };
        return { stock: await newer('stock'), payment: await newer('payment') };
      },
    },
    newTxnId: randomUUID,
    now: Date.now,
    sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
    report: (message, { error, ...fields }) => logger.error(message, { orderId, ...fields, error: describe(error) }),
  };
}

function replyFor(outcome: CheckoutOutcome, orderId: string): RouteResult {
  switch (outcome.kind) {
    case 'paid':
      return { body: { order_id: orderId, paid: true } };
    case 'unknown order':
      throw new NotFoundError(`order ${orderId} not found`, { code: 'order_not_found' });
    case 'refused': {
      const message = `checkout of order ${orderId} aborted${outcome.detail ? `: ${outcome.detail}` : ''}`;
      const code = refusalCode(outcome);
      throw outcome.reason === 'not_found' ? new NotFoundError(message, { code }) : new ConflictError(message, { code });
    }
    case 'unavailable':
      throw new CheckoutTimeoutError(
        {
          'order kept changing': `order ${orderId} kept changing while being checked out; nothing was taken, retry`,
          'not decided in time': `checkout of order ${orderId} was not decided in time and was aborted; nothing was taken, retry`,
          'reservations not all back': `checkout of order ${orderId} was aborted, but not every reservation is given back yet; retry`,
          'keys kept moving': `checkout of order ${orderId} kept meeting an order, items or a user whose shard was moving; nothing was taken, retry`,
        }[outcome.why],
      );
  }
}

/** What was missing, by who refused: stock (an item) or payment (a user); the bare refusal for entries logged before the log named the participant. */
function refusalCode({ reason, by }: Extract<CheckoutOutcome, { kind: 'refused' }>): string {
  const side = by === undefined ? undefined : by.startsWith('stock-') ? 'stock' : 'payment';
  if (reason === 'not_found') return side === undefined ? 'not_found' : side === 'stock' ? 'item_not_found' : 'user_not_found';
  return side === undefined ? 'insufficient' : side === 'stock' ? 'insufficient_stock' : 'insufficient_credit';
}
