import { coordinatorStep, type Transaction } from '../../../../layers/twopc/coordinator-step';

const preparing: Transaction = {
  txnId: 't1',
  orderId: 'o1',
  state: 'preparing',
  participants: ['stock-0', 'stock-1', 'payment-0'],
  yes: ['stock-0'],
  acked: [],
};

const noVote = (participant: 'stock-1' | 'payment-0', refusal: 'insufficient' | 'not_found', detail?: string) =>
  ({ kind: 'vote', txnId: 't1', orderId: 'o1', participant, vote: 'no', refusal, ...(detail ? { detail } : {}) }) as const;

describe('a no vote', () => {
  it('aborts, and the log names who refused, why, and what it said', () => {
    const step = coordinatorStep(preparing, noVote('payment-0', 'insufficient', 'user 9 has 5 credit, less than 6'));
    expect(step.decided).toBe('abort');
    expect(step.txn).toEqual({
      ...preparing,
      state: 'aborted',
      abortReason: 'insufficient',
      abortDetail: 'user 9 has 5 credit, less than 6',
      refusedBy: 'payment-0',
    });
    expect(step.send.map((instruction) => [instruction.kind, instruction.participant])).toEqual([
      ['rollback', 'stock-0'],
      ['rollback', 'stock-1'],
      ['rollback', 'payment-0'],
    ]);
  });

  it('after the decision changes nothing: the first refusal stays the one the log names', () => {
    const aborted = coordinatorStep(preparing, noVote('payment-0', 'insufficient')).txn;
    const later = coordinatorStep(aborted, noVote('stock-1', 'not_found'));
    expect(later.txn.refusedBy).toBe('payment-0');
    expect(later.txn.abortReason).toBe('insufficient');
  });
});
