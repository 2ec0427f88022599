import type postgres from 'postgres';
import { DecisionWaiter } from '../../../layers/coordinator/decision-waiter';
import { type Announcement, parseAnnouncements } from '../../../layers/coordinator/transactions';

/** A stand-in for one pool's LISTEN connection: the test plays the server's notifications and reconnects. */
function fakeListener() {
  let notify!: (payload: string) => void;
  let subscribed!: () => void;
  const sql = {
    listen: async (_channel: string, onNotify: (payload: string) => void, onListen: () => void) => {
      notify = onNotify;
      subscribed = onListen;
      onListen();
      return { state: {}, unlisten: async () => undefined };
    },
  } as unknown as postgres.Sql;
  return { sql, notify: (payload: string) => notify(payload), reconnect: () => subscribed() };
}

const announced = (txnId: string, state: 'c' | 'a', complete: 0 | 1) => `${txnId} ${state} ${complete}`;

describe('DecisionWaiter', () => {
  it('wakes the waiter of the announced transaction with its decision', async () => {
    const { sql, notify } = fakeListener();
    const waiter = new DecisionWaiter();

    const outcome = waiter.next(sql, 't1', 5_000, async () => {
      notify([announced('t0', 'c', 1), announced('t1', 'c', 0)].join(','));
      return undefined;
    });

    await expect(outcome).resolves.toEqual({ txnId: 't1', state: 'committed', complete: false });
  });

  it('keeps the most telling of several announcements that arrive before the waiter runs again', async () => {
    const { sql, notify } = fakeListener();
    const waiter = new DecisionWaiter();

    const outcome = waiter.next(sql, 't1', 5_000, async () => {
      // One socket read can bring both: the abort, then the last acknowledgement.
      notify(announced('t1', 'a', 0));
      notify(announced('t1', 'a', 1));
      return undefined;
    });

    await expect(outcome).resolves.toEqual({ txnId: 't1', state: 'aborted', complete: true });
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
});
