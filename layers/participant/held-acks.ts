import { HoldBack } from '../kafka/hold-back';
import type { Ack } from '../twopc/messages';

/**
 * How long an acknowledgement of a commit waits for a record to ride on before it leaves in one
 * of its own: far below the resolver's first resend of an unacknowledged decision (3 s), and
 * longer than the gap between a busy participant's batches.
 */
export const HOLD_ACKS_AT_MOST_MS = 1_000;

/**
 * The acknowledgements of commits a participant container has not sent yet. No one waits for
 * them on a checkout's path (a checkout replies once the commit is logged, `checkout-use-case.ts`);
 * they only tell the coordinator to stop resending the decision and let its log entry go. So
 * instead of a record each, they ride on the container's next record to the results topic, a
 * vote of a later checkout, and while checkouts keep coming a commit costs no record and no
 * invocation of its own (docs/architecture.md, "Held back, sent together").
 *
 * A container that dies holding some loses them, and the resolver resends those decisions,
 * which are acknowledged again from the participation records. An acknowledgement of a rollback
 * is never held: an aborted checkout waits for it.
 */
export type HeldAcks = HoldBack<Ack>;

export const heldAcks = (): HeldAcks => new HoldBack<Ack>(HOLD_ACKS_AT_MOST_MS);
