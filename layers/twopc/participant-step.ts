import type { Ack, Instruction, Refusal, Vote } from './messages';

/** What a participant has recorded of one transaction; absent until its first message. */
export type Participation =
  | { readonly state: 'prepared' }
  | { readonly state: 'committed' }
  | { readonly state: 'aborted'; readonly refusal: Refusal };

/** What applying one instruction means for the participant's own data. */
export type Effect =
  /** the reservation taken at prepare becomes final: nothing to give back, ever */
  | 'keep'
  /** the reservation taken at prepare is given back */
  | 'release'
  | 'none';

export interface ParticipantStep {
  /** The record to store; undefined when the step changes nothing. */
  readonly next: Participation | undefined;
  readonly effect: Effect;
  /** The reply to send, or undefined when the instruction breaks the protocol (see `violation`). */
  readonly reply: Vote | Ack | undefined;
  readonly violation?: string;
}

/** The outcome of trying to reserve (escrow) what a prepare asks for. */
export type Reservation = { readonly ok: true } | { readonly ok: false; readonly refusal: Refusal; readonly detail: string };

function vote({ txnId, orderId, participant }: Instruction, refusal?: Refusal, detail?: string): Vote {
  return refusal === undefined
    ? { kind: 'vote', txnId, orderId, participant, vote: 'yes' }
    : { kind: 'vote', txnId, orderId, participant, vote: 'no', refusal, ...(detail === undefined ? {} : { detail }) };
}

/**
 * The participant's side of the two-phase commit, as pure logic. Every instruction is applied
 * at most once: a repeat finds the stored record and only repeats the reply. A rollback that
 * arrives before its prepare leaves an `aborted` record, so the late prepare votes no and takes
 * nothing. `tryReserve` is called only when a prepare must take its reservation now.
 */
export function participantStep(
  current: Participation | undefined,
  instruction: Instruction,
  tryReserve: () => Reservation,
): ParticipantStep {
  const { txnId, orderId, participant } = instruction;
  const ack = (decision: Ack['decision']): Ack => ({ kind: 'ack', txnId, orderId, participant, decision });
  switch (instruction.kind) {
    case 'prepare': {
      if (current === undefined) {
        const reservation = tryReserve();
        if (reservation.ok) return { next: { state: 'prepared' }, effect: 'none', reply: vote(instruction) };
        return {
          next: { state: 'aborted', refusal: reservation.refusal },
          effect: 'none',
          reply: vote(instruction, reservation.refusal, reservation.detail),
        };
      }
      const refusal = current.state === 'aborted' ? current.refusal : undefined;
      return { next: undefined, effect: 'none', reply: vote(instruction, refusal) };
    }
    case 'commit': {
      if (current?.state === 'prepared') return { next: { state: 'committed' }, effect: 'keep', reply: ack('commit') };
      if (current?.state === 'committed') return { next: undefined, effect: 'none', reply: ack('commit') };
      // No record: the coordinator commits only after this participant stored its yes vote, and
      // retention deletes a record only once its decision was applied here. So this is a copy of
      // a Commit applied and forgotten (resent by a resolver that never saw the acknowledgement):
      // acknowledge it, or the decision is resent for ever and its order's slot never drains.
      if (current === undefined) return { next: undefined, effect: 'none', reply: ack('commit') };
      return {
        next: undefined,
        effect: 'none',
        reply: undefined,
        violation: `commit of ${txnId} at ${participant}, which is ${current?.state ?? 'unknown'} there`,
      };
    }
    case 'rollback': {
      if (current === undefined) return { next: { state: 'aborted', refusal: 'rolled_back' }, effect: 'none', reply: ack('rollback') };
      if (current.state === 'prepared')
        return { next: { state: 'aborted', refusal: 'rolled_back' }, effect: 'release', reply: ack('rollback') };
      if (current.state === 'aborted') return { next: undefined, effect: 'none', reply: ack('rollback') };
      return { next: undefined, effect: 'none', reply: undefined, violation: `rollback of ${txnId} at ${participant}, which committed` };
    }
  }
}

/**
 * The answer of a retired shard, which has no database any more: it was retired only once every
 * slot had left it and every transaction it voted yes on was decided and applied there, so a
 * commit or rollback that still reaches it is a late copy of one it acknowledged, and a prepare
 * (routed by an old map) takes nothing and votes no as moved, so the checkout starts over.
 */
export function retiredShardReply(instruction: Instruction): Vote | Ack {
  const { txnId, orderId, participant } = instruction;
  if (instruction.kind === 'prepare') return vote(instruction, 'moved', `${participant} is retired`);
  return { kind: 'ack', txnId, orderId, participant, decision: instruction.kind };
}

/**
 * How long after its deadline a Prepare is still taken: far beyond any clock skew between a
 * coordinator and a participant. A later one is refused, takes nothing and leaves an `aborted`
 * record. Voting no is always safe before a decision, and the coordinator has aborted by then
 * anyway (it aborts what is undecided at the deadline).
 *
 * This is what lets the participation records be deleted (see `participation-retention.ts`):
 * a record is kept for a retention window longer than this margin plus the longest checkout
 * wait, counted from its last change, which comes after its Prepare arrived. So a copy of that
 * Prepare redelivered once the record is gone (an offset reset, a replayed topic) is past its
 * deadline by more than the margin, and is refused instead of taking stock or credit again.
 */
export const LATE_PREPARE_MARGIN_MS = 60_000;

export function lateRefusal(deadline: number, now: number): Reservation | undefined {
  if (now <= deadline + LATE_PREPARE_MARGIN_MS) return undefined;
  return {
    ok: false,
    refusal: 'rolled_back',
    detail: `the prepare arrived ${Math.round((now - deadline) / 1000)} s after its transaction's deadline`,
  };
}
