import type { Instruction } from '../../../../layers/twopc/messages';
import { CHECKOUT_WAIT_MS, LOG_RETENTION_S } from '../../../../layers/config/bounds';
import { LATE_PREPARE_MARGIN_MS, lateRefusal, participantStep, type Reservation } from '../../../../layers/twopc/participant-step';

const prepare: Instruction = {
  kind: 'prepare',
  txnId: 't',
  orderId: 'o',
  participant: 'stock-0',
  deadline: 1_800_000_000_000,
  items: [{ itemId: 'i', quantity: 2 }],
};
const commit: Instruction = { kind: 'commit', txnId: 't', orderId: 'o', participant: 'stock-0' };
const rollback: Instruction = { kind: 'rollback', txnId: 't', orderId: 'o', participant: 'stock-0' };
const reserves = (): Reservation => ({ ok: true });
const refuses = (): Reservation => ({ ok: false, refusal: 'insufficient', detail: 'item i has 1' });
const mustNotReserve = (): Reservation => {
  throw new Error('reserved twice');
};

describe('participantStep', () => {
  it('prepare reserves once and votes yes; a repeat votes yes without reserving again', () => {
    const first = participantStep(undefined, prepare, reserves);
    const again = participantStep(first.next, prepare, mustNotReserve);

    expect(first).toMatchObject({ next: { state: 'prepared' }, reply: { kind: 'vote', vote: 'yes' } });
    expect(again).toMatchObject({ next: undefined, effect: 'none', reply: { vote: 'yes' } });
  });

  it('a refused prepare is remembered: its repeat votes no with the same reason', () => {
    const first = participantStep(undefined, prepare, refuses);
    const again = participantStep(first.next, prepare, mustNotReserve);

    expect(first.reply).toEqual({
      kind: 'vote',
      txnId: 't',
      orderId: 'o',
      participant: 'stock-0',
      vote: 'no',
      refusal: 'insufficient',
      detail: 'item i has 1',
    });
    expect(again.reply).toMatchObject({ vote: 'no', refusal: 'insufficient' });
  });

  it('a rollback that overtakes its prepare leaves a mark, so the late prepare votes no and takes nothing', () => {
    const early = participantStep(undefined, rollback, mustNotReserve);
    const late = participantStep(early.next, prepare, mustNotReserve);

    expect(early).toMatchObject({
      next: { state: 'aborted', refusal: 'rolled_back' },
      effect: 'none',
      reply: { kind: 'ack', decision: 'rollback' },
    });
    expect(late).toMatchObject({ next: undefined, reply: { vote: 'no', refusal: 'rolled_back' } });
  });

  it('rollback after prepare gives the reservation back once', () => {
    const prepared = participantStep(undefined, prepare, reserves).next;
    const rolledBack = participantStep(prepared, rollback, mustNotReserve);
    const again = participantStep(rolledBack.next, rollback, mustNotReserve);

    expect(rolledBack.effect).toBe('release');
    expect(again).toMatchObject({ effect: 'none', reply: { kind: 'ack', decision: 'rollback' } });
  });

  it('commit keeps the reservation once and acknowledges every repeat', () => {
    const prepared = participantStep(undefined, prepare, reserves).next;
    const committed = participantStep(prepared, commit, mustNotReserve);
    const again = participantStep(committed.next, commit, mustNotReserve);

    expect(committed).toMatchObject({ next: { state: 'committed' }, effect: 'keep', reply: { decision: 'commit' } });
    expect(again).toMatchObject({ next: undefined, effect: 'none', reply: { decision: 'commit' } });
  });

  it('acknowledges a commit it has no record of (applied, then forgotten by retention), changing nothing', () => {
    const step = participantStep(undefined, commit, mustNotReserve);

    expect(step).toEqual({ next: undefined, effect: 'none', reply: expect.objectContaining({ kind: 'ack', decision: 'commit' }) });
  });

  it('reports a commit of a transaction it refused or rolled back as a protocol violation, changing nothing', () => {
    const step = participantStep({ state: 'aborted', refusal: 'insufficient' }, commit, mustNotReserve);

    expect(step).toMatchObject({ next: undefined, effect: 'none', reply: undefined });
    expect(step.violation).toMatch(/commit of t at stock-0, which is aborted there/);
  });
});

describe('lateRefusal', () => {
  const deadline = 1_800_000_000_000;

  it('takes a Prepare up to the margin past its deadline, and refuses a later one as rolled back, naming how late', () => {
    expect(lateRefusal(deadline, deadline + LATE_PREPARE_MARGIN_MS)).toBeUndefined();
    expect(lateRefusal(deadline, deadline + LATE_PREPARE_MARGIN_MS + 1_000)).toEqual({
      ok: false,
      refusal: 'rolled_back',
      detail: "the prepare arrived 61 s after its transaction's deadline",
    });
  });

  it('refuses before any record may be deleted: the shortest retention outlasts the margin and both checkout waits', () => {
    const longestCheckoutMs = 2 * CHECKOUT_WAIT_MS.max;
    expect(LOG_RETENTION_S.min * 1000).toBeGreaterThan(LATE_PREPARE_MARGIN_MS + longestCheckoutMs);
  });
});
