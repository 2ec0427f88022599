/**
 * The decisions an order shard announces by NOTIFY, so that waiting checkouts wake at once: the
 * channel, what an announcement says, and its text form.
 */
import type { Transaction } from '../twopc/coordinator-step';

/** The channel on which an order shard announces decisions, so waiting checkouts wake at once. */
export const DECISION_CHANNEL = 'txn_decided';

/** A decided transaction as announced: its decision, and whether every participant has acknowledged it. */
export interface Announcement {
  readonly txnId: string;
  readonly state: 'committed' | 'aborted';
  readonly complete: boolean;
}

/** Whether every participant has acknowledged the decision. */
export const isComplete = (txn: Transaction) => txn.participants.every((participant) => txn.acked.includes(participant));

/** What a decided transaction announces; undefined while it is undecided. */
export function announcementOf(txn: Transaction): Announcement | undefined {
  return txn.state === 'preparing' ? undefined : { txnId: txn.txnId, state: txn.state, complete: isComplete(txn) };
}

// Payload: "<txn id> <c|a> <0|1>" per transaction, comma-separated (ids never hold either character).
export const encodeAnnouncement = ({ txnId, state, complete }: Announcement) =>
  `${txnId} ${state === 'committed' ? 'c' : 'a'} ${complete ? 1 : 0}`;

export function parseAnnouncements(payload: string): Announcement[] {
  const announcements: Announcement[] = [];
  for (const entry of payload.split(',')) {
    const [txnId, state, complete] = entry.split(' ');
    if (txnId && (state === 'c' || state === 'a'))
      announcements.push({ txnId, state: state === 'c' ? 'committed' : 'aborted', complete: complete === '1' });
  }
  return announcements;
}
