import { firstFailedOffset } from '../../../../infra/offline-kafka/partial-batch-response';

const items = [5, 6, 7, 8].map((offset) => ({ message: { offset: String(offset) } }));
const failure = (partition: unknown, offset: unknown) => ({ itemIdentifier: { partition, offset } });

describe('firstFailedOffset', () => {
  it.each([undefined, null, 'ok', {}, { batchItemFailures: null }, { batchItemFailures: [] }])('reads %p as no failure', (reply) => {
    expect(firstFailedOffset(reply, 'results', 0, items)).toBeUndefined();
  });

  it("gives this partition's lowest reported offset, as a string or a number, and leaves other partitions' to them", () => {
    const reply = { batchItemFailures: [failure('results-0', 7), failure('results-1', 2), failure('results-0', '6')] };
    expect(firstFailedOffset(reply, 'results', 0, items)).toBe(6n);
    expect(firstFailedOffset({ batchItemFailures: [failure('results-1', 2)] }, 'results', 0, items)).toBeUndefined();
  });

  it.each([
    [{ batchItemFailures: 'results-0' }, 'batchItemFailures is not a list'],
    [{ batchItemFailures: [{ itemIdentifier: '7' }] }, 'has no itemIdentifier {partition, offset}'],
    [{ batchItemFailures: [failure('', 7)] }, 'has no itemIdentifier {partition, offset}'],
    [{ batchItemFailures: [failure('results-0', -1)] }, 'offset is not a whole number'],
    [{ batchItemFailures: [failure('results-0', 9)] }, 'reported results-0 offset 9 failed, which this invocation did not hold'],
  ])('fails the whole batch on %p', (reply, message) => {
    const result = firstFailedOffset(reply, 'results', 0, items);
    expect(result).toBeInstanceOf(Error);
    expect((result as Error).message).toContain(message);
  });
});
