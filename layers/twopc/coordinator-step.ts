import type { Decide, ParticipantId, Refusal, Result } from './messages';

/** Why a transaction aborted, as the coordinator records it. */
export type AbortReason = Refusal | 'timeout';

/** The coordinator's durable record of one transaction (its 2PC log entry). */
export interface Transaction {
  readonly txnId: string;
  readonly orderId: string;
  readonly state: 'preparing' | 'committed' | 'aborted';
  readonly participants: readonly ParticipantId[];
  readonly yes: readonly ParticipantId[];
  readonly acked: readonly ParticipantId[];
  readonly abortReason?: AbortReason;
  readonly abortDetail?: string;
  /** The participant whose no vote aborted it (absent when it was aborted for another reason). */
  readonly refusedBy?: ParticipantId;
}

export interface CoordinatorStep {
  readonly txn: Transaction;
  /** Set when this step took the decision: it must be stored before anything is sent. */
  readonly decided?: 'commit' | 'abort';
  readonly send: readonly Decide[];
  readonly violation?: string;
}

const decisionOf = (state: Transaction['state']): Decide['kind'] | undefined =>
  state === 'committed' ? 'commit' : state === 'aborted' ? 'rollback' : undefined;

const instruct = (txn: Transaction, kind: Decide['kind'], to: readonly ParticipantId[]): Decide[] =>
  to.map((participant) => ({ kind, txnId: txn.txnId, orderId: txn.orderId, participant }));

const withMember = (list: readonly ParticipantId[], member: ParticipantId) => (list.includes(member) ? list : [...list, member]);

/**
 * The coordinator's side, as pure logic: it commits only when every participant voted yes,
 * aborts on the first no, and never changes a decision once taken. Repeated or late results
 * are harmless: a vote that arrives after the decision gets the decision sent again to its
 * participant (a late yes must learn of an abort to give its reservation back).
 */
export function coordinatorStep(txn: Transaction, result: Result): CoordinatorStep {
  const { participant } = result;
  if (!txn.participants.includes(participant)) {
    return { txn, send: [], violation: `${participant} is not a participant of ${txn.txnId}` };
  }
  if (result.kind === 'ack') {
    if (result.decision !== decisionOf(txn.state)) {
      return { txn, send: [], violation: `${participant} acknowledged ${result.decision} of ${txn.txnId}, which is ${txn.state}` };
    }
    return { txn: { ...txn, acked: withMember(txn.acked, participant) }, send: [] };
  }
  if (txn.state === 'preparing') {
    if (result.vote === 'no') {
      const aborted: Transaction = {
        ...txn,
        state: 'aborted',
        abortReason: result.refusal ?? 'rolled_back',
        ...(result.detail === undefined ? {} : { abortDetail: result.detail }),
        refusedBy: participant,
      };
      return { txn: aborted, decided: 'abort', send: instruct(aborted, 'rollback', aborted.participants) };
    }
    const yes = withMember(txn.yes, participant);
    if (txn.participants.every((member) => yes.includes(member))) {
      const committed: Transaction = { ...txn, yes, state: 'committed' };
      return { txn: committed, decided: 'commit', send: instruct(committed, 'commit', committed.participants) };
    }
    return { txn: { ...txn, yes }, send: [] };
  }
  if (txn.state === 'committed' && result.vote === 'no') {
    return { txn, send: [], violation: `${participant} voted no on ${txn.txnId} after it committed` };
  }
  const decision = decisionOf(txn.state)!;
  return { txn, send: txn.acked.includes(participant) ? [] : instruct(txn, decision, [participant]) };
}

/** The deadline passed: an undecided transaction aborts; a decided one is left as it is. */
export function timeoutStep(txn: Transaction): CoordinatorStep {
  if (txn.state !== 'preparing') return { txn, send: [] };
  const aborted: Transaction = { ...txn, state: 'aborted', abortReason: 'timeout' };
  return { txn: aborted, decided: 'abort', send: instruct(aborted, 'rollback', aborted.participants) };
}

/** The decisions still owed: what a resolver re-sends to participants that have not acknowledged. */
export function pendingDecisions(txn: Transaction): Decide[] {
  const decision = decisionOf(txn.state);
  if (!decision) return [];
  return instruct(
    txn,
    decision,
    txn.participants.filter((member) => !txn.acked.includes(member)),
  );
}
