import type postgres from 'postgres';
import {
  DecisionWaiter,
  type Logged,
  type NextAnnouncement,
  untilStage,
  type WaitOutcome,
} from '../../../../layers/coordinator/decision-waiter';
import { type Announcement, parseAnnouncements } from '../../../../layers/coordinator/announcements';

/** A stand-in for one pool's LISTEN connection: the test plays the server's notifications and reconnects. */
function fakeListener() {
  let notify!: (payload: string) => void;
  let subscribed!: () => void;
  const calls = { listens: 0, unlistens: 0 };
  const sql = {
    listen: async (_channel: string, onNotify: (payload: string) => void, onListen: () => void) => {
      calls.listens++;
      notify = onNotify;
      subscribed = onListen;
      onListen();
      return { state: {}, unlisten: async () => void calls.unlistens++ };
    },
  } as unknown as postgres.Sql;
  return { sql, calls, notify: (payload: string) => notify(payload), reconnect: () => subscribed() };
}

const announced = (txnId: string, state: 'c' | 'a', complete: 0 | 1) => `${txnId} ${state} ${complete}`;

describe('DecisionWaiter', () => {
  it.each([
    // Another transaction's announcement in the same payload wakes only its own waiter.
    [
      'the waiter of the announced transaction with its decision',
      [[announced('t0', 'c', 1), announced('t1', 'c', 0)].join(',')],
      { txnId: 't1', state: 'committed', complete: false },
    ],
    // One socket read can bring both: the abort, then the last acknowledgement.
    [
      'with the most telling of several announcements that arrive before the waiter runs again',
      [announced('t1', 'a', 0), announced('t1', 'a', 1)],
      { txnId: 't1', state: 'aborted', complete: true },
    ],
  ])('wakes %s', async (_, payloads, woken) => {
    const { sql, notify } = fakeListener();
    const waiter = new DecisionWaiter();

    const outcome = waiter.next(sql, 't1', 5_000, async () => {
      for (const payload of payloads) notify(payload);
      return undefined;
    });

    await expect(outcome).resolves.toEqual(woken);
  });

  it('asks for the log to be read when the listening connection was re-established meanwhile', async () => {
    const { sql, reconnect } = fakeListener();
    const waiter = new DecisionWaiter();

    const outcome = waiter.next(sql, 't1', 5_000, async () => {
      reconnect();
      return undefined;
    });

    await expect(outcome).resolves.toBe('reread');
  });

  it('answers at once what the meanwhile step already knows', async () => {
    const { sql } = fakeListener();
    const known: Announcement = { txnId: 't1', state: 'aborted', complete: true };

    await expect(new DecisionWaiter().next(sql, 't1', 5_000, async () => known)).resolves.toBe(known);
  });

  it('times out when nothing is announced', async () => {
    const { sql, notify } = fakeListener();

    const outcome = new DecisionWaiter().next(sql, 't1', 20, async () => {
      notify(announced('other', 'c', 1));
      return undefined;
    });

    await expect(outcome).resolves.toBe('timeout');
  });
});

describe('parseAnnouncements', () => {
  it('reads every entry and skips what it does not understand', () => {
    expect(parseAnnouncements('a-1 c 1,b-2 a 0,garbage,c-3 x 1')).toEqual([
      { txnId: 'a-1', state: 'committed', complete: true },
      { txnId: 'b-2', state: 'aborted', complete: false },
    ]);
  });

  it('keeps listening on a pool while checkouts wait there, lets go once nobody has for a while, and listens again when one does', async () => {
    jest.useFakeTimers();
    const { sql, calls, notify } = fakeListener();
    const waiter = new DecisionWaiter(30_000);
    const decide = (txnId: string) =>
      waiter.next(sql, txnId, 5_000, async () => {
        notify(announced(txnId, 'c', 1));
        return undefined;
      });

    await Promise.all([decide('t1'), decide('t2')]);
    await decide('t3');
    expect(calls).toEqual({ listens: 1, unlistens: 0 });

    await jest.advanceTimersByTimeAsync(29_000);
    expect(calls).toEqual({ listens: 1, unlistens: 0 });
    await jest.advanceTimersByTimeAsync(1_000);
    expect(calls).toEqual({ listens: 1, unlistens: 1 });

    await expect(decide('t4')).resolves.toEqual({ txnId: 't4', state: 'committed', complete: true });
    expect(calls.listens).toBe(2);
    jest.useRealTimers();
  });
});

describe('untilStage', () => {
  const decided = (complete: boolean): Announcement => ({ txnId: 't1', state: 'aborted', complete });
  /** Plays the waits' outcomes in turn; records what each wait's meanwhile step answered. */
  function scripted(outcomes: WaitOutcome[]) {
    const answered: Logged[] = [];
    const next: NextAnnouncement = async (_ms, meanwhile) => {
      const known = await meanwhile();
      answered.push(known);
      return known ?? outcomes.shift() ?? 'timeout';
    };
    return { next, answered };
  }

  it('reads the log first when asked, and ends there without running meanwhile when it is decided already', async () => {
    const { next } = scripted([]);
    const meanwhile = jest.fn(async () => undefined);
    const read = jest.fn(async () => decided(false));
    expect(await untilStage(next, read, 1_000, 'decided', { readFirst: true, meanwhile })).toEqual(decided(false));
    expect(read).toHaveBeenCalledTimes(1);
    expect(meanwhile).not.toHaveBeenCalled();
  });

  it('runs meanwhile once, and reads the log only after a reconnect', async () => {
    const { next } = scripted(['reread', decided(false)]);
    const meanwhile = jest.fn(async () => undefined);
    const read = jest.fn(async () => undefined);
    expect(await untilStage(next, read, 1_000, 'decided', { meanwhile })).toEqual(decided(false));
    expect(meanwhile).toHaveBeenCalledTimes(1);
    expect(read).toHaveBeenCalledTimes(1);
  });

  it("waits past a decision not every participant acknowledged for 'complete'", async () => {
    const { next } = scripted([decided(false), decided(true)]);
    const read = jest.fn(async () => decided(false));
    expect(await untilStage(next, read, 1_000, 'complete', { readFirst: true })).toEqual(decided(true));
    expect(read).toHaveBeenCalledTimes(1);
  });

  it.each(['decided', 'complete'] as const)(
    "ends the wait for '%s' at once when the log no longer holds the transaction (it moved on)",
    async (stage) => {
      const { next } = scripted([decided(false)]);
      const meanwhile = jest.fn(async () => undefined);
      expect(await untilStage(next, async () => 'gone' as const, 1_000, stage, { readFirst: true, meanwhile })).toBe('gone');
      expect(meanwhile).not.toHaveBeenCalled();
    },
  );

  it('times out when nothing reaches the stage in time', async () => {
    let clock = 0;
    const next: NextAnnouncement = async (ms, meanwhile) => {
      await meanwhile();
      clock += ms;
      return 'timeout';
    };
    expect(
      await untilStage(
        next,
        async () => undefined,
        1_000,
        'decided',
        {},
        () => clock,
      ),
    ).toBe('timeout');
    expect(clock).toBe(1_000);
  });
});
