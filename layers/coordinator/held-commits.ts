import { HoldBack } from '../kafka/hold-back';
import type { Decide } from '../twopc/messages';

/**
 * How long a commit waits for others to the same participant shard, to leave in one record
 * with them: a fifth of a second gathers ten checkouts at 50/s, and a commit's lateness is
 * seen by no one (below).
 */
export const HOLD_COMMITS_AT_MOST_MS = 200;

/**
 * The commits a coordinator container decided and has not sent yet. Once a commit is in the log
 * the checkout replies; its participants only let go of a reservation that is already out of
 * everyone's reach (held, neither free nor sold to another buyer). So commits are gathered for
 * a moment and each participant shard gets them in one record, one invocation, one local
 * transaction (docs/architecture.md, "Held back, sent together").
 *
 * A container that dies holding some loses them: the decisions are in the log, and the resolver
 * sends them again 3 s after them. A rollback is never held: an aborted checkout waits for its
 * acknowledgement before it answers.
 */
export type HeldCommits = HoldBack<Decide>;

export const heldCommits = (): HeldCommits => new HoldBack<Decide>(HOLD_COMMITS_AT_MOST_MS);
