/**
 * Checking out one order by two-phase commit, as the coordinator sees it, from the first read of
 * the order to the outcome the reply states. It talks to three ports only: the 2PC log (the
 * order's shard), the outbox (Kafka) and the wait for a decision (NOTIFY); `checkout.ts` binds
 * them to the real ones and turns the outcome into an HTTP reply.
 */
import type { Transaction } from '../../layers/twopc/coordinator-step';
import { type BuyerRefusal, type Instruction, isBuyerRefusal, type ParticipantId } from '../../layers/twopc/messages';
import { type ParticipantMaps, prepareInstructions } from '../../layers/twopc/routing';
import { type Announcement, announcementOf } from '../../layers/coordinator/announcements';
import type { ClaimFound } from '../../layers/twopc/order-claim';

/** The order's shard: its orders and its part of the 2PC log. */
export interface CheckoutLog {
  /** Reads the order and, if it is free, claims it for `txnId` and logs the transaction. Undefined: no such order; 'moved': the shard does not own its slot. */
  claimOrRead(orderId: string, txnId: string, maps: ParticipantMaps): Promise<ClaimFound>;
  /** The order's shard refused its slot, or moved it: from now on, the shard a newer order map names. Whether that is another shard. */
  reroute(): Promise<boolean>;
  /** The transaction as the log holds it, wherever that is now: once decided and acknowledged, it moves with its order's slot. */
  read(txnId: string): Promise<Transaction | undefined>;
  /** Aborts the transaction unless a decision got there first: the transaction as settled, and the rollbacks it owes. */
  abortIfUndecided(txnId: string): Promise<{ readonly settled: Transaction | undefined; readonly rollbacks: readonly Instruction[] }>;
}

export interface CheckoutOutbox {
  send(instructions: readonly Instruction[]): Promise<void>;
}

export interface DecisionWait {
  /**
   * Until `txnId` is decided ('decided') or decided and acknowledged by every participant
   * ('complete'), or `timeoutMs` passes. Listening starts first; the log is read first when
   * `readFirst` (and whenever an announcement may have been missed); `meanwhile` runs once
   * listening unless the log already answered.
   */
  until(
    txnId: string,
    timeoutMs: number,
    stage: 'decided' | 'complete',
    options?: { readonly readFirst?: boolean; readonly meanwhile?: () => Promise<void> },
  ): Promise<Announcement | 'timeout'>;
}

/** The participants' slot maps, as this container knows them. */
export interface CheckoutRoutes {
  current(): Promise<ParticipantMaps>;
  /** Maps newer than `used` where there are (read again); `used` itself while none is published yet. */
  newerThan(used: ParticipantMaps): Promise<ParticipantMaps>;
}

export interface CheckoutPorts {
  readonly log: CheckoutLog;
  readonly routes: CheckoutRoutes;
  readonly outbox: CheckoutOutbox;
  readonly decisions: DecisionWait;
  newTxnId(): string;
  now(): number;
  sleep(ms: number): Promise<void>;
  /** Where trouble that does not change the outcome is told (a log line). */
  report(message: string, fields: Record<string, unknown>): void;
}

export interface CheckoutSettings {
  /** how long a transaction may stay undecided before it is aborted; also the wait for rollback acknowledgements */
  readonly timeoutMs: number;
}

/** What a checkout ends with; the API's status follows from it. */
export type CheckoutOutcome =
  | { readonly kind: 'paid' }
  | { readonly kind: 'unknown order' }
  | { readonly kind: 'refused'; readonly reason: BuyerRefusal; readonly detail?: string; readonly by?: ParticipantId }
  | {
      readonly kind: 'unavailable';
      readonly why: 'order kept changing' | 'not decided in time' | 'reservations not all back' | 'keys kept moving';
    };

/**
 * A key's slot was not served where its map said (a stale map, a move): the order's, before
 * anything started, or a participant's, which aborted the transaction. Worth starting over.
 */
type Moved = { readonly kind: 'moved'; readonly order: boolean };

/**
 * A checkout that meets a moving slot starts over with the maps read again, pausing a little
 * longer each time: a move holds a slot for well under a second.
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
export async function runCheckout(ports: CheckoutPorts, settings: CheckoutSettings, orderId: string): Promise<CheckoutOutcome> {
  let maps = await ports.routes.current();
  for (let attempt = 1; ; attempt++) {
    const outcome = await runCheckoutOnce(ports, settings, orderId, maps);
    if (outcome.kind !== 'moved') return outcome;
    if (attempt === MOVED_ATTEMPTS) return { kind: 'unavailable', why: 'keys kept moving' };
    await ports.sleep(MOVED_PAUSE_MS * attempt);
    if (outcome.order) await ports.log.reroute();
    else maps = await ports.routes.newerThan(maps);
  }
}

async function runCheckoutOnce(
  ports: CheckoutPorts,
  settings: CheckoutSettings,
  orderId: string,
  maps: ParticipantMaps,
): Promise<CheckoutOutcome | Moved> {
  const begun = await begin(ports, settings, orderId, maps);
  if (begun.kind === 'paid' || begun.kind === 'unknown order') return { kind: begun.kind };
  if (begun.kind === 'unavailable' || begun.kind === 'moved') return begun;
  const { txnId } = begun;
  const decision = await awaitDecision(ports, settings, begun);
  if (decision !== 'timeout' && decision.state === 'committed') return { kind: 'paid' };

  const decided = decision === 'timeout' ? await settle(ports, txnId) : await ports.log.read(txnId);
  if (decided?.state === 'committed') return { kind: 'paid' };
  if (decided?.state === 'aborted' && !announcementOf(decided)!.complete && !(await rollbacksAcknowledged(ports, settings, txnId))) {
    // A refusal promises that nothing is taken: say so only once every reservation is back.
    return { kind: 'unavailable', why: 'reservations not all back' };
  }
  if (decided?.abortReason === 'moved') return { kind: 'moved', order: false };
  if (decided && isBuyerRefusal(decided.abortReason)) {
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
async function begin(
  ports: CheckoutPorts,
  settings: CheckoutSettings,
  orderId: string,
  maps: ParticipantMaps,
): Promise<Begun | Moved | { readonly kind: 'unavailable'; readonly why: 'order kept changing' }> {
  for (let attempt = 1; attempt <= CLAIM_ATTEMPTS; attempt++) {
    // By this instance's clock; only a prepare's lateness by far more than any skew matters to a participant.
    const deadline = ports.now() + settings.timeoutMs;
    const order = await ports.log.claimOrRead(orderId, ports.newTxnId(), maps);
    if (order === 'moved') return { kind: 'moved', order: true };
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
async function awaitDecision(
  ports: CheckoutPorts,
  settings: CheckoutSettings,
  begun: { readonly kind: 'joined' | 'started'; readonly txnId: string; readonly prepares: Instruction[] },
): Promise<Announcement | 'timeout'> {
  try {
    return await ports.decisions.until(begun.txnId, settings.timeoutMs, 'decided', {
      readFirst: begun.kind === 'joined',
      meanwhile: () => ports.outbox.send(begun.prepares),
    });
  } catch (error) {
    ports.report('checkout could not complete its prepare phase', { txnId: begun.txnId, error });
    return 'timeout';
  }
}

/** Waits (bounded) until every participant has acknowledged the abort, i.e. every reservation is given back. */
async function rollbacksAcknowledged(ports: CheckoutPorts, settings: CheckoutSettings, txnId: string): Promise<boolean> {
  return (await ports.decisions.until(txnId, settings.timeoutMs, 'complete', { readFirst: true })) !== 'timeout';
}

/**
 * The wait ran out (or the prepares could not be sent): abort unless a decision got there first.
 * The rollbacks are sent at once if Kafka takes them; if not, the resolver sends them later,
 * since the decision is already in the log.
 */
async function settle(ports: CheckoutPorts, txnId: string): Promise<Transaction | undefined> {
  const { settled, rollbacks } = await ports.log.abortIfUndecided(txnId);
  await ports.outbox.send(rollbacks).catch((error: unknown) => ports.report('rollbacks left to the resolver', { txnId, error }));
  // Not in the log where it was claimed: decided, acknowledged, and moved on with its order's slot.
  return settled ?? (await ports.log.read(txnId));
}
