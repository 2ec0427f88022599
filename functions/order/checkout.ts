import { CHECKOUT_BUDGET_MS } from '../../layers/config/bounds';
import { LOCK_NOT_AVAILABLE } from '../../layers/db/bounded-locks';
import { AppError, ConflictError, NotFoundError, OutcomeUnknownError, UnavailableError } from '../../layers/errors';
import { isUnavailable } from '../../layers/http/unavailable';
import type { RouteResult } from '../../layers/http/router';
import { type CheckoutOutcome, runCheckout } from './checkout-use-case';
import { type CheckoutDeps, checkoutPorts } from './checkout-ports';

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
    outcome = await runCheckout(checkoutPorts(deps, orderId), { timeoutMs: deps.timeoutMs, budgetMs: CHECKOUT_BUDGET_MS }, orderId);
  } catch (error) {
    if (error instanceof AppError || !(isUnavailable(error) || (error as { code?: unknown }).code === LOCK_NOT_AVAILABLE)) throw error;
    throw new OutcomeUnknownError(
      `checkout of order ${orderId} lost its database or the message broker midway: it may or may not commit; retry it (a checkout is idempotent per order, and a retry answers with its outcome)`,
      { cause: error },
    );
  }
  return replyFor(outcome, orderId);
}

function replyFor(outcome: CheckoutOutcome, orderId: string): RouteResult {
  switch (outcome.kind) {
    case 'paid':
      return { body: { order_id: orderId, paid: true } };
    case 'unknown order':
      throw new NotFoundError(`order ${orderId} not found`, { code: 'order_not_found' });
    case 'outcome unknown':
      throw new OutcomeUnknownError(
        `checkout of order ${orderId} was decided, but its order moved between shards faster than its outcome could be read: retry it (a checkout is idempotent per order, and a retry answers with its outcome)`,
      );
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
