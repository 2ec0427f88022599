import { type CheckoutPorts, runCheckout } from '../../../functions/order/checkout-use-case';
import { type Logged, untilStage, type WaitOutcome } from '../../../layers/coordinator/decision-waiter';
import { type Announcement, announcementOf } from '../../../layers/coordinator/announcements';
import type { OrderForCheckout } from '../../../layers/twopc/order-claim';
import type { Transaction } from '../../../layers/twopc/coordinator-step';
import type { Instruction } from '../../../layers/twopc/messages';
import type { ParticipantMaps } from '../../../layers/twopc/routing';
import { initialSlotMap } from '../../../layers/sharding/slots';

const settings = { timeoutMs: 5_000, budgetMs: 26_000 };
const maps: ParticipantMaps = { stock: initialSlotMap(1), payment: initialSlotMap(1) };
const participants = ['stock-0', 'payment-0'] as const;
/** The routing the claim logs for the order's one item and its user: stock-0 and payment-0. */
const routes = { stock: { i1: 0 }, payment: 0 };

const order = (fields: Partial<OrderForCheckout> = {}): OrderForCheckout => ({
  user_id: 'u1',
  paid: false,
  total_cost: 10,
  items: { i1: 2 },
  checkout_txn: null,
  claimed: false,
  routes: null,
  ...fields,
});

const txn = (txnId: string, fields: Partial<Transaction> = {}): Transaction => ({
  txnId,
  orderId: 'o1',
  state: 'preparing',
  participants: [...participants],
  yes: [],
  acked: [],
  ...fields,
});

/**
 * In-memory ports: the order's shard answers claims from `claims` in turn, the log holds `log`,
 * and each wait takes the next of `announcements` ('timeout' once they run out, advancing the clock).
 */
function shop(setup: {
  claims: (OrderForCheckout | 'moved' | undefined)[];
  log?: Transaction[];
  announcements?: WaitOutcome[];
  movedOnDecision?: Transaction[];
}) {
  // The order's shard by the first order map (1), and by any newer one: where the order's slot
  // goes once its transaction is decided (movedOnDecision), which the first then knows no more.
  const log = new Map((setup.log ?? []).map((entry) => [entry.txnId, entry]));
  const newShard = new Map((setup.movedOnDecision ?? []).map((entry) => [entry.txnId, entry]));
  const logOf = (orders: number) => (orders === 1 ? log : newShard);
  const sent: Instruction[][] = [];
  const reported: string[] = [];
  const claimedWith: number[] = [];
  const slept: number[] = [];
  const rerouted: number[] = [];
  let mapVersion = 1;
  let clock = 0;
  let ids = 0;
  const waits = {
    /** One wait: the next scripted announcement ('timeout' once they run out, advancing the clock). */
    next: async (_txnId: string, timeoutMs: number, meanwhile: () => Promise<Logged>): Promise<WaitOutcome> => {
      const found = await meanwhile();
      if (found) return found;
      const next = setup.announcements?.shift();
      for (const moved of setup.movedOnDecision ?? []) log.delete(moved.txnId);
      if (next === undefined || next === 'timeout') {
        clock += timeoutMs;
        return 'timeout';
      }
      return next;
    },
  };
  const ports: CheckoutPorts<number> = {
    routing: {
      current: async () => ({ orders: 1, maps }),
      newer: async (route, moved) => {
        if (moved === 'order') {
          rerouted.push(claimedWith.length);
          return { ...route, orders: route.orders + 1 };
        }
        // Each time a participant said moved, the map read again is one version newer.
        return { ...route, maps: { stock: { ...maps.stock, version: ++mapVersion }, payment: maps.payment } };
      },
    },
    log: {
      claimOrRead: async (orders, _orderId, txnId, used) => {
        claimedWith.push(used.stock.version);
        const next = setup.claims.shift();
        if (next !== 'moved' && next?.claimed) {
          logOf(orders).set(txnId, txn(txnId));
          return { ...next, checkout_txn: txnId };
        }
        return next;
      },
      read: async (orders, txnId) => logOf(orders).get(txnId),
      abortIfUndecided: async (orders, txnId) => {
        const current = logOf(orders).get(txnId);
        if (!current) return { settled: undefined, rollbacks: [] };
        if (current.state !== 'preparing') return { settled: current, rollbacks: [] };
        const aborted = txn(txnId, { state: 'aborted', abortReason: 'timeout' });
        logOf(orders).set(txnId, aborted);
        return {
          settled: aborted,
          rollbacks: participants.map((participant) => ({ kind: 'rollback' as const, txnId, orderId: 'o1', participant })),
        };
      },
    },
    outbox: { send: async (instructions) => void sent.push([...instructions]) },
    decisions: {
      // The real loop (reads, rereads, the stage) over the announcements this test scripts.
      until: (orders, txnId, timeoutMs, stage, options) =>
        untilStage(
          (ms, meanwhile) => waits.next(txnId, ms, meanwhile),
          async () => {
            const logged = await ports.log.read(orders, txnId);
            return logged ? announcementOf(logged) : 'gone';
          },
          timeoutMs,
          stage,
          options,
          () => clock,
        ),
    },
    newTxnId: () => `t${++ids}`,
    now: () => clock,
    sleep: async (ms) => {
      slept.push(ms);
      clock += ms;
    },
    report: (message) => void reported.push(message),
  };
  return { ports, waits, sent, reported, log, claimedWith, slept, rerouted };
}

const announce = (txnId: string, state: Announcement['state'], complete: boolean): Announcement => ({ txnId, state, complete });

describe('runCheckout', () => {
  it('a new transaction: claims the order, sends one prepare per participant, and is paid once committed', async () => {
    const { ports, sent } = shop({
      claims: [order({ claimed: true, routes })],
      announcements: [announce('t1', 'committed', false)],
    });
    expect(await runCheckout(ports, settings, 'o1')).toEqual({ kind: 'paid' });
    expect(sent).toHaveLength(1);
    expect(sent[0]!.map((instruction) => [instruction.kind, instruction.participant])).toEqual([
      ['prepare', 'stock-0'],
      ['prepare', 'payment-0'],
    ]);
  });

  it('an order paid already: paid at once, nothing sent', async () => {
    const { ports, sent } = shop({ claims: [order({ paid: true })] });
    expect(await runCheckout(ports, settings, 'o1')).toEqual({ kind: 'paid' });
    expect(sent).toEqual([]);
  });

  it('an unknown order', async () => {
    const { ports } = shop({ claims: [undefined] });
    expect(await runCheckout(ports, settings, 'o1')).toEqual({ kind: 'unknown order' });
  });

  it('already running and decided: joins, reads the decision from the log, and sends nothing again', async () => {
    const { ports, sent } = shop({ claims: [order({ checkout_txn: 'first' })], log: [txn('first', { state: 'committed' })] });
    expect(await runCheckout(ports, settings, 'o1')).toEqual({ kind: 'paid' });
    expect(sent).toEqual([]);
  });

  it('already running and undecided: joins and sends the prepares again (its first checkout may have died before sending them)', async () => {
    const { ports, sent } = shop({
      claims: [order({ checkout_txn: 'first', routes })],
      log: [txn('first')],
      announcements: [announce('first', 'committed', true)],
    });
    expect(await runCheckout(ports, settings, 'o1')).toEqual({ kind: 'paid' });
    expect(sent[0]!.map((instruction) => [instruction.txnId, instruction.participant])).toEqual([
      ['first', 'stock-0'],
      ['first', 'payment-0'],
    ]);
  });

  it('already running and routed under other maps than this checkout holds: sends the prepares the log routed, to its participants', async () => {
    const logged = { stock: { i1: 3 }, payment: 1 };
    const { ports, sent } = shop({
      claims: [order({ checkout_txn: 'first', routes: logged })],
      log: [txn('first', { participants: ['stock-3', 'payment-1'] })],
      announcements: [announce('first', 'committed', true)],
    });
    expect(await runCheckout(ports, settings, 'o1')).toEqual({ kind: 'paid' });
    expect(sent.flat().map((instruction) => instruction.participant)).toEqual(['stock-3', 'payment-1']);
  });

  it('already running, not logged yet (or logged before routings were): joins and sends nothing', async () => {
    const { ports, sent } = shop({
      claims: [order({ checkout_txn: 'first', routes: null })],
      log: [txn('first')],
      announcements: [announce('first', 'committed', true)],
    });
    expect(await runCheckout(ports, settings, 'o1')).toEqual({ kind: 'paid' });
    expect(sent.flat()).toEqual([]);
  });

  it('aborted because the slot of a key moved: once everything is given back, starts over with newer maps, and is paid', async () => {
    const { ports, sent, log, claimedWith, slept } = shop({
      claims: [order({ claimed: true, routes }), order({ claimed: true, routes })],
      announcements: [announce('t1', 'aborted', true), announce('t2', 'committed', false)],
    });
    ports.log.read = async (_orders, txnId) =>
      txnId === 't1' ? txn('t1', { state: 'aborted', abortReason: 'moved', acked: [...participants] }) : log.get(txnId);
    expect(await runCheckout(ports, settings, 'o1')).toEqual({ kind: 'paid' });
    expect(claimedWith).toEqual([1, 2]);
    expect(slept).toEqual([100]);
    expect(sent.map((batch) => batch[0]!.txnId)).toEqual(['t1', 't2']);
  });

  it('an order whose shard no longer owns its slot: nothing sent there, routed by a newer order map, and paid', async () => {
    const { ports, sent, claimedWith, slept, rerouted } = shop({
      claims: ['moved', 'moved', order({ claimed: true, routes })],
      announcements: [announce('t3', 'committed', false)],
    });
    expect(await runCheckout(ports, settings, 'o1')).toEqual({ kind: 'paid' });
    expect(rerouted).toEqual([1, 2]);
    expect(claimedWith).toEqual([1, 1, 1]);
    expect(slept).toEqual([100, 200]);
    expect(sent.map((batch) => batch[0]!.txnId)).toEqual(['t3']);
  });

  it('keys that keep moving: unavailable after ten tries, nothing taken', async () => {
    const claims = Array.from({ length: 10 }, () => order({ claimed: true, routes }));
    const { ports, claimedWith } = shop({
      claims,
      announcements: Array.from({ length: 10 }, (_, index) => announce(`t${index + 1}`, 'aborted', true)),
    });
    ports.log.read = async (_orders, txnId) => txn(txnId, { state: 'aborted', abortReason: 'moved', acked: [...participants] });
    expect(await runCheckout(ports, settings, 'o1')).toEqual({ kind: 'unavailable', why: 'keys kept moving' });
    expect(claimedWith).toHaveLength(10);
  });

  it('an order that keeps changing under the claim: unavailable after a few tries, nothing sent', async () => {
    const { ports, sent } = shop({ claims: Array.from({ length: 5 }, () => order()) });
    expect(await runCheckout(ports, settings, 'o1')).toEqual({ kind: 'unavailable', why: 'order kept changing' });
    expect(sent).toEqual([]);
  });

  it('joins a transaction its shard no longer holds (decided, acknowledged, moved on with the slot): reads it where it went, sends nothing', async () => {
    const { ports, sent, rerouted } = shop({
      claims: [order({ checkout_txn: 'first', routes })],
      movedOnDecision: [txn('first', { state: 'committed', acked: [...participants] })],
    });
    expect(await runCheckout(ports, settings, 'o1')).toEqual({ kind: 'paid' });
    expect(sent).toEqual([]);
    expect(rerouted).toHaveLength(1);
  });

  it('aborted, and moved on with its slot while the checkout waited for the rollbacks: every reservation was back, so refused at once', async () => {
    const { ports } = shop({
      claims: [order({ claimed: true, routes })],
      announcements: [announce('t1', 'aborted', false)],
      movedOnDecision: [txn('t1', { state: 'aborted', abortReason: 'insufficient', acked: [...participants] })],
    });
    const read = ports.log.read;
    let reads = 0;
    // The first read still finds it where it was claimed, its last acknowledgement not yet in.
    ports.log.read = async (orders, txnId) =>
      ++reads === 1 ? txn(txnId, { state: 'aborted', abortReason: 'insufficient', acked: ['stock-0'] }) : read(orders, txnId);
    expect(await runCheckout(ports, settings, 'o1')).toEqual({ kind: 'refused', reason: 'insufficient' });
    expect(ports.now()).toBeLessThan(settings.timeoutMs);
  });

  it('decided, but its order keeps moving faster than it is followed: outcome unknown, never "nothing taken"', async () => {
    const { ports, slept } = shop({
      claims: [order({ claimed: true, routes })],
      announcements: [announce('t1', 'aborted', true)],
    });
    ports.log.read = async () => undefined;
    expect(await runCheckout(ports, settings, 'o1')).toEqual({ kind: 'outcome unknown' });
    expect(slept).toEqual([100, 200, 300, 400, 500, 600, 700, 800, 900]);
  });

  it('a participant moved, and no time left for another attempt within the budget: unavailable at once, nothing taken', async () => {
    const { ports, claimedWith, slept } = shop({
      claims: [order({ claimed: true, routes })],
      announcements: [announce('t1', 'aborted', true)],
    });
    ports.log.read = async (_orders, txnId) => txn(txnId, { state: 'aborted', abortReason: 'moved', acked: [...participants] });
    const tight = { ...settings, budgetMs: 2 * settings.timeoutMs + 50 };
    expect(await runCheckout(ports, tight, 'o1')).toEqual({ kind: 'unavailable', why: 'keys kept moving' });
    expect([claimedWith.length, slept]).toEqual([1, []]);
  });

  it('aborted while waiting, every reservation back: refused with the reason the log gives', async () => {
    const { ports, log } = shop({
      claims: [order({ claimed: true, routes })],
      announcements: [announce('t1', 'aborted', true)],
    });
    const refusal = ports.log.read;
    ports.log.read = async (orders, txnId) =>
      (await refusal(orders, txnId)) &&
      txn(txnId, {
        state: 'aborted',
        abortReason: 'insufficient',
        abortDetail: 'not enough stock',
        refusedBy: 'stock-0',
        acked: [...participants],
      });
    expect(await runCheckout(ports, settings, 'o1')).toEqual({
      kind: 'refused',
      reason: 'insufficient',
      detail: 'not enough stock',
      by: 'stock-0',
    });
    expect(log.size).toBe(1);
  });

  it("aborted, acknowledged and moved on with its order's slot before the checkout reads it: refused with the reason the new shard's log gives", async () => {
    const { ports, rerouted } = shop({
      claims: [order({ claimed: true, routes })],
      announcements: [announce('t1', 'aborted', true)],
      movedOnDecision: [
        txn('t1', { state: 'aborted', abortReason: 'insufficient', abortDetail: 'not enough credit', acked: [...participants] }),
      ],
    });
    expect(await runCheckout(ports, settings, 'o1')).toEqual({ kind: 'refused', reason: 'insufficient', detail: 'not enough credit' });
    expect(rerouted).toHaveLength(1);
  });

  it("committed and moved on with its order's slot while the wait ran out: the abort finds nothing where it claimed, and the new shard says paid", async () => {
    const { ports, sent } = shop({
      claims: [order({ claimed: true, routes })],
      announcements: ['timeout'],
      movedOnDecision: [txn('t1', { state: 'committed', acked: [...participants] })],
    });
    expect(await runCheckout(ports, settings, 'o1')).toEqual({ kind: 'paid' });
    expect(sent.map((batch) => batch.map((instruction) => instruction.kind))).toEqual([['prepare', 'prepare'], []]);
  });

  it.each([
    ['not every reservation back in time: unavailable, never a refusal', false, { kind: 'unavailable', why: 'reservations not all back' }],
    ['the last acknowledgement announced while the checkout waits: refused', true, { kind: 'refused', reason: 'not_found' }],
  ] as const)('aborted while waiting, %s', async (_, lastAcknowledged, outcome) => {
    const { ports } = shop({
      claims: [order({ claimed: true, routes })],
      announcements: [announce('t1', 'aborted', false), announce('t1', 'aborted', lastAcknowledged)],
    });
    const read = ports.log.read;
    ports.log.read = async (orders, txnId) =>
      (await read(orders, txnId)) && txn(txnId, { state: 'aborted', abortReason: 'not_found', acked: ['stock-0'] });
    expect(await runCheckout(ports, settings, 'o1')).toEqual(outcome);
  });

  it('not decided in time: aborts it itself, sends the rollbacks, and is unavailable (nothing taken)', async () => {
    const { ports, sent, log } = shop({
      claims: [order({ claimed: true, routes })],
      announcements: ['timeout', announce('t1', 'aborted', true)],
    });
    expect(await runCheckout(ports, settings, 'o1')).toEqual({ kind: 'unavailable', why: 'not decided in time' });
    expect(log.get('t1')).toMatchObject({ state: 'aborted', abortReason: 'timeout' });
    expect(sent.map((batch) => batch.map((instruction) => instruction.kind))).toEqual([
      ['prepare', 'prepare'],
      ['rollback', 'rollback'],
    ]);
  });

  it('committed by someone else just as the wait ran out: the abort finds the decision, and the checkout is paid', async () => {
    const { ports, waits, log, sent } = shop({
      claims: [order({ claimed: true, routes })],
      announcements: ['timeout'],
    });
    const wait = waits.next;
    waits.next = async (txnId, ms, meanwhile) => {
      const outcome = await wait(txnId, ms, meanwhile);
      log.set(txnId, txn(txnId, { state: 'committed' }));
      return outcome;
    };
    expect(await runCheckout(ports, settings, 'o1')).toEqual({ kind: 'paid' });
    expect(sent.flat().map((instruction) => instruction.kind)).toEqual(['prepare', 'prepare']);
  });

  it('the prepares cannot be sent (Kafka down): reported, then settled as a timeout', async () => {
    const { ports, reported } = shop({
      claims: [order({ claimed: true, routes })],
      announcements: [announce('t1', 'aborted', true)],
    });
    ports.outbox.send = async () => {
      throw new Error('broker unreachable');
    };
    expect(await runCheckout(ports, settings, 'o1')).toEqual({ kind: 'unavailable', why: 'not decided in time' });
    expect(reported).toEqual(['checkout could not complete its prepare phase', 'rollbacks left to the resolver']);
  });

  it('a reconnect during the wait: the log is read again, and a decision found there ends the wait', async () => {
    const { ports, waits, log } = shop({ claims: [order({ claimed: true, routes })], announcements: ['reread'] });
    const wait = waits.next;
    let waited = 0;
    waits.next = async (txnId, ms, meanwhile) => {
      if (++waited === 2) log.set(txnId, txn(txnId, { state: 'committed' }));
      return wait(txnId, ms, meanwhile);
    };
    expect(await runCheckout(ports, settings, 'o1')).toEqual({ kind: 'paid' });
    expect(waited).toBe(2);
  });
});
