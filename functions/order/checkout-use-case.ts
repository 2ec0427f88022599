/**
 * Checking out one order by two-phase commit, as the coordinator sees it, from the first read of
 * the order to the outcome the reply states. It talks to four ports only: the routing (where the
 * order and its keys are), the 2PC log (the order's shard), the outbox (Kafka) and the wait for a
 * decision (NOTIFY). It alone follows a move, at one place (`runCheckout`); `checkout-ports.ts`
 * binds the ports to the real ones and `checkout.ts` turns the outcome into an HTTP reply.
 */
import type { Transaction } from '../../layers/twopc/coordinator-step';
import { type BuyerRefusal, type Instruction, isBuyerRefusal, type ParticipantId } from '../../layers/twopc/messages';
import { type ParticipantMaps, prepareInstructions } from '../../layers/twopc/routing';
import { type Announcement, announcementOf } from '../../layers/coordinator/announcements';
import type { ClaimFound } from '../../layers/twopc/order-claim';

/**
 * Where a checkout's keys live, as this container knows: the order map (`Orders`, opaque here),
 * whose shard holds the order and its part of the 2PC log, and the participants' slot maps. The
 * use case chooses the route and changes it only when a shard refused a key as moved; no port
 * changes shard on its own.
 */
export interface CheckoutRoute<Orders> {
  readonly orders: Orders;
  readonly maps: ParticipantMaps;
}

export interface CheckoutRouting<Orders> {
  current(): Promise<CheckoutRoute<Orders>>;
  /** The route once `moved` was refused as moved: the order's shard by a newer order map, or the participants' newer maps. */
  newer(route: CheckoutRoute<Orders>, moved: 'order' | 'keys'): Promise<CheckoutRoute<Orders>>;
}

/** The order's shard (by the route's order map): its orders and its part of the 2PC log. */
export interface CheckoutLog<Orders> {
  /** Reads the order and, if it is free, claims it for `txnId` and logs the transaction. Undefined: no such order; 'moved': the shard does not own its slot. */
  claimOrRead(orders: Orders, orderId: string, txnId: string, maps: ParticipantMaps): Promise<ClaimFound>;
  /** The transaction as this shard's log holds it; undefined once decided, acknowledged and moved on with its order's slot. */
  read(orders: Orders, txnId: string): Promise<Transaction | undefined>;
  /** Aborts the transaction unless a decision got there first: the transaction as settled, and the rollbacks it owes. */
  abortIfUndecided(
    orders: Orders,
    txnId: string,
  ): Promise<{ readonly settled: Transaction | undefined; readonly rollbacks: readonly Instruction[] }>;
}

export interface CheckoutOutbox {
  send(instructions: readonly Instruction[]): Promise<void>;
}

export interface DecisionWait<Orders> {
  /**
   * Until `txnId` is decided ('decided') or decided and acknowledged by every participant
   * ('complete') on the order's shard, or `timeoutMs` passes. Listening starts first; the log is
   * read first when `readFirst` (and whenever an announcement may have been missed); `meanwhile`
   * runs once listening unless the log already answered. 'gone': the log read meanwhile no longer
   * holds it (decided, acknowledged by every participant, moved on with its order's slot).
   */
  until(
    orders: Orders,
    txnId: string,
    timeoutMs: number,
    stage: 'decided' | 'complete',
    options?: { readonly readFirst?: boolean; readonly meanwhile?: () => Promise<void> },
  ): Promise<Announcement | 'timeout' | 'gone'>;
}

export interface CheckoutPorts<Orders> {
  readonly routing: CheckoutRouting<Orders>;
  readonly log: CheckoutLog<Orders>;
  readonly outbox: CheckoutOutbox;
  readonly decisions: DecisionWait<Orders>;
  newTxnId(): string;
  now(): number;
  sleep(ms: number): Promise<void>;
  /** Where trouble that does not change the outcome is told (a log line). */
  report(message: string, fields: Record<string, unknown>): void;
}

export interface CheckoutSettings {
  /** how long a transaction may stay undecided before it is aborted; also the wait for rollback acknowledgements */
  readonly timeoutMs: number;
  /** how long the whole checkout may take, moves followed included: it must answer before its caller gives up */
  readonly budgetMs: number;
}

/** What a checkout ends with; the API's status follows from it. */
export type CheckoutOutcome =
  | { readonly kind: 'paid' }
  | { readonly kind: 'unknown order' }
  /** decided, but moved on with its order's slot faster than it could be followed: paid or not, a retry says */
  | { readonly kind: 'outcome unknown' }
  | { readonly kind: 'refused'; readonly reason: BuyerRefusal; readonly detail?: string; readonly by?: ParticipantId }
  | {
      readonly kind: 'unavailable';
      readonly why: 'order kept changing' | 'not decided in time' | 'reservations not all back' | 'keys kept moving';
    };

/**
 * A key's slot was not served where the route said (a stale map, a move): the order's, before
 * anything started ('order'), or a participant's, which aborted the transaction ('keys'); or the
 * decided transaction moved on with its order's slot before it was read (`txnId`: read it where
 * it went). Worth going on with a newer route.
 */
type Moved =
  | { readonly kind: 'moved'; readonly what: 'order' | 'keys'; readonly txnId?: undefined }
  | { readonly kind: 'moved'; readonly what: 'order'; readonly txnId: string };

/**
 * The one place a checkout follows a move: it goes on with the route read again, pausing a
 * little longer each time (a move holds a slot for well under a second), while another attempt
 * (at most two waits of `timeoutMs`) still fits in the checkout's budget.
 */
const MOVED_ATTEMPTS = 10;
const MOVED_PAUSE_MS = 100;

/** A claim lost to a concurrent change of the order is retried this many times. */
const CLAIM_ATTEMPTS = 5;

type Begun =
  | { readonly kind: 'paid' }
  | { readonly kind: 'unknown order' }
  | { readonly kind: 'joined' | 'started'; readonly txnId: string; readonly prepares: Instruction[] };

/**
 * Checks out an order: paid once committed; refused once aborted and every reservation given
 * back; unavailable when that cannot be said in time (an undecided transaction is then aborted
 * here, so nothing is taken).
 */
export async function runCheckout<Orders>(
  ports: CheckoutPorts<Orders>,
  settings: CheckoutSettings,
  orderId: string,
): Promise<CheckoutOutcome> {
  const started = ports.now();
  let route = await ports.routing.current();
  let moved: Moved | undefined;
  for (let attempt = 1; ; attempt++) {
    const outcome = !moved?.txnId
      ? await checkoutOnce(ports, settings, orderId, route)
      : await conclude(ports, settings, route, moved.txnId);
    if (outcome.kind !== 'moved') return outcome;
    const pauseMs = MOVED_PAUSE_MS * attempt;
    const fits = ports.now() - started + pauseMs + 2 * settings.timeoutMs <= settings.budgetMs;
    if (attempt === MOVED_ATTEMPTS || !fits) {
      // A transaction that moved on was decided: it may have committed. Any other left nothing taken.
      return outcome.txnId ? { kind: 'outcome unknown' } : { kind: 'unavailable', why: 'keys kept moving' };
    }
    await ports.sleep(pauseMs);
    route = await ports.routing.newer(route, outcome.what);
    moved = outcome;
  }
}

async function checkoutOnce<Orders>(
  ports: CheckoutPorts<Orders>,
  settings: CheckoutSettings,
  orderId: string,
  route: CheckoutRoute<Orders>,
): Promise<CheckoutOutcome | Moved> {
  const begun = await begin(ports, settings, orderId, route);
  if (!('prepares' in begun)) return begun;
  const decision = await awaitDecision(ports, settings, route.orders, begun);
  if (decision === 'gone') return { kind: 'moved', what: 'order', txnId: begun.txnId };
  if (decision !== 'timeout' && decision.state === 'committed') return { kind: 'paid' };
  if (decision !== 'timeout') return conclude(ports, settings, route, begun.txnId);
  const settled = await settle(ports, route.orders, begun.txnId);
  // Not in this shard's log: decided, acknowledged, and moved on with its order's slot.
  return settled ? conclude(ports, settings, route, begun.txnId, settled) : { kind: 'moved', what: 'order', txnId: begun.txnId };
}

/**
 * What the decided transaction (`settled`, or as the log holds it) means for the checkout. A
 * refusal promises that nothing is taken: it is said only once every reservation is back.
 */
async function conclude<Orders>(
  ports: CheckoutPorts<Orders>,
  settings: CheckoutSettings,
  route: CheckoutRoute<Orders>,
  txnId: string,
  settled?: Transaction,
): Promise<CheckoutOutcome | Moved> {
  const decided = settled ?? (await ports.log.read(route.orders, txnId));
  // Gone from the log where it was claimed: decided, acknowledged, and moved on with its order's slot.
  if (!decided) return { kind: 'moved', what: 'order', txnId };
  if (decided.state === 'committed') return { kind: 'paid' };
  // Undecided after all (nothing here leaves it so): it may still commit, so nothing can be promised.
  if (decided.state !== 'aborted') return { kind: 'outcome unknown' };
  if (!announcementOf(decided)!.complete && !(await rollbacksAcknowledged(ports, settings, route.orders, txnId))) {
    return { kind: 'unavailable', why: 'reservations not all back' };
  }
  if (decided.abortReason === 'moved') return { kind: 'moved', what: 'keys' };
  if (isBuyerRefusal(decided.abortReason)) {
    return {
      kind: 'refused',
      reason: decided.abortReason,
      ...(decided.abortDetail ? { detail: decided.abortDetail } : {}),
      ...(decided.refusedBy ? { by: decided.refusedBy } : {}),
    };
  }
  return { kind: 'unavailable', why: 'not decided in time' };
}

/**
 * Finds what checking out the order means now: it is paid already, another checkout's
 * transaction is deciding it (this one joins it), or a new transaction starts. The log's
 * statement reads the order and claims it if it is free, so two concurrent checkouts of one order
 * make one transaction. Either way the transaction's prepares come along, built from the routing
 * the claim logged: a joining checkout sends the same ones to the same participants, whatever
 * maps it holds (a prepare for a slot moved since is refused as moved, and the checkout starts
 * over). One not logged yet, or logged before routings were, sends none and waits.
 */
async function begin<Orders>(
  ports: CheckoutPorts<Orders>,
  settings: CheckoutSettings,
  orderId: string,
  route: CheckoutRoute<Orders>,
): Promise<Begun | Moved | { readonly kind: 'unavailable'; readonly why: 'order kept changing' }> {
  for (let attempt = 1; attempt <= CLAIM_ATTEMPTS; attempt++) {
    // By this instance's clock; only a prepare's lateness by far more than any skew matters to a participant.
    const deadline = ports.now() + settings.timeoutMs;
    const order = await ports.log.claimOrRead(route.orders, orderId, ports.newTxnId(), route.maps);
    if (order === 'moved') return { kind: 'moved', what: 'order' };
    if (!order) return { kind: 'unknown order' };
    if (order.paid) return { kind: 'paid' };
    if (!order.checkout_txn) continue;
    const txnId = order.checkout_txn;
    const request = {
      txnId,
      orderId,
      userId: order.user_id,
      totalCost: order.total_cost,
      lines: Object.entries(order.items).map(([itemId, quantity]) => ({ itemId, quantity: Number(quantity) })),
      deadline,
    };
    const prepares = order.routes ? prepareInstructions(request, order.routes) : [];
    return { kind: order.claimed ? 'started' : 'joined', txnId, prepares };
  }
  return { kind: 'unavailable', why: 'order kept changing' };
}

/**
 * Until decided or out of time. A new transaction's prepares leave once the wait listens, so even
 * an instant decision wakes it; a joined one may be decided already, so the log is read first,
 * and its prepares leave again only if it is not (its first checkout may have died before
 * sending them; a participant answers a repeat from its record).
 */
async function awaitDecision<Orders>(
  ports: CheckoutPorts<Orders>,
  settings: CheckoutSettings,
  orders: Orders,
  begun: { readonly kind: 'joined' | 'started'; readonly txnId: string; readonly prepares: Instruction[] },
): Promise<Announcement | 'timeout' | 'gone'> {
  try {
    return await ports.decisions.until(orders, begun.txnId, settings.timeoutMs, 'decided', {
      readFirst: begun.kind === 'joined',
      meanwhile: () => ports.outbox.send(begun.prepares),
    });
  } catch (error) {
    ports.report('checkout could not complete its prepare phase', { txnId: begun.txnId, error });
    return 'timeout';
  }
}

/** Waits (bounded) until every participant has acknowledged the abort, i.e. every reservation is given back (one gone from the log was, before it moved). */
async function rollbacksAcknowledged<Orders>(
  ports: CheckoutPorts<Orders>,
  settings: CheckoutSettings,
  orders: Orders,
  txnId: string,
): Promise<boolean> {
  return (await ports.decisions.until(orders, txnId, settings.timeoutMs, 'complete', { readFirst: true })) !== 'timeout';
}

/**
 * The wait ran out (or the prepares could not be sent): abort unless a decision got there first.
 * The rollbacks are sent at once if Kafka takes them; if not, the resolver sends them later,
 * since the decision is already in the log. Undefined: no longer in this shard's log.
 */
async function settle<Orders>(ports: CheckoutPorts<Orders>, orders: Orders, txnId: string): Promise<Transaction | undefined> {
  const { settled, rollbacks } = await ports.log.abortIfUndecided(orders, txnId);
  await ports.outbox.send(rollbacks).catch((error: unknown) => ports.report('rollbacks left to the resolver', { txnId, error }));
  return settled;
}
