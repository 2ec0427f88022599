import { HoldBack } from '../../../../layers/kafka/hold-back';

describe('HoldBack', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('gives what it holds to the next record, oldest first, a record’s worth at a time', () => {
    const held = new HoldBack<number>(1_000, 2);
    held.hold([1, 2, 3]);
    expect(held.take()).toEqual([1, 2]);
    held.giveBack([1, 2]);
    expect(held.take()).toEqual([1, 2]);
    expect(held.take()).toEqual([3]);
    expect(held.take()).toEqual([]);
  });

  it('sends what no record took once the oldest has waited its time, and nothing when a record took it first', async () => {
    const sent: number[][] = [];
    const send = async (messages: number[]) => {
      sent.push(messages);
    };
    const held = new HoldBack<number>(200);
    held.hold([1]);
    held.sendLater(send, () => undefined);
    jest.advanceTimersByTime(100);
    held.hold([2]);
    held.sendLater(send, () => undefined);
    jest.advanceTimersByTime(100);
    expect(sent).toEqual([[1, 2]]);

    held.hold([3]);
    held.sendLater(send, () => undefined);
    expect(held.take()).toEqual([3]);
    jest.advanceTimersByTime(1_000);
    expect(sent).toEqual([[1, 2]]);
  });

  it('holds again what a failed send had, and reports the failure', async () => {
    const errors: unknown[] = [];
    const held = new HoldBack<number>(200);
    held.hold([1, 2]);
    held.sendLater(
      () => Promise.reject(new Error('broker gone')),
      (error) => errors.push(error),
    );
    jest.advanceTimersByTime(200);
    await Promise.resolve();
    await Promise.resolve();
    expect(errors).toEqual([new Error('broker gone')]);
    expect(held.take()).toEqual([1, 2]);
  });
});
