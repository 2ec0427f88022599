import { queueDecisionsTogether } from '../../../../layers/coordinator/decision-sends';
import type { Outbox } from '../../../../layers/kafka/producer';
import { TOPICS } from '../../../../layers/kafka/topics';
import { type Decide, decodeInstructions } from '../../../../layers/twopc/messages';

describe('queueDecisionsTogether', () => {
  it('puts one record per participant in its service’s topic, carrying all of its decisions', () => {
    const decision = (txnId: string, participant: Decide['participant']): Decide => ({ kind: 'commit', txnId, orderId: 'o', participant });
    const outbox: Outbox = new Map();

    queueDecisionsTogether(outbox, [
      decision('t-0', 'stock-0'),
      decision('t-0', 'payment-1'),
      decision('t-1', 'stock-0'),
      decision('t-2', 'stock-1'),
      decision('t-1', 'payment-1'),
    ]);

    const decoded = (topic: string) => outbox.get(topic)!.map((message) => decodeInstructions(String(message.value)));
    expect(decoded(TOPICS.stockInstructions)).toEqual([
      [decision('t-0', 'stock-0'), decision('t-1', 'stock-0')],
      [decision('t-2', 'stock-1')],
    ]);
    expect(decoded(TOPICS.paymentInstructions)).toEqual([[decision('t-0', 'payment-1'), decision('t-1', 'payment-1')]]);
    expect(outbox.get(TOPICS.stockInstructions)!.map((message) => message.key)).toEqual(['t-0', 't-2']);
  });
});
