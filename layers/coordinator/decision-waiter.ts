import type postgres from 'postgres';
import { type Announcement, DECISION_CHANNEL, parseAnnouncements } from './announcements';

/**
 * What a wait ended with: the transaction's announcement; `reread` when the listening
 * connection was re-established meanwhile (an announcement may have been missed, so the log
 * must be read); `timeout` when none came in time; `gone` when the log read meanwhile no longer
 * holds the transaction (decided, acknowledged by every participant, and moved on with its
 * order's slot: no announcement of it will come here).
 */
export type WaitOutcome = Announcement | 'reread' | 'timeout' | 'gone';

/** What a read of the log says: the transaction's announcement, none while it is undecided, or `gone`. */
export type Logged = Announcement | undefined | 'gone';

/** What a checkout waits for: a decision, or a decision every participant has acknowledged. */
export type Stage = 'decided' | 'complete';

export interface StageWait {
  /** read the log before waiting (a decision may have been announced before listening began) */
  readonly readFirst?: boolean;
  /** runs once listening, unless the log answered first (e.g. sends the prepares, so even an instant decision wakes the wait) */
  readonly meanwhile?: () => Promise<void>;
}

/** One wait for the next announcement (`DecisionWaiter.next` bound to a shard and a transaction). */
export type NextAnnouncement = (timeoutMs: number, meanwhile: () => Promise<Logged>) => Promise<WaitOutcome>;

/**
 * Until the transaction reaches `stage` or `timeoutMs` passes. The log (`read`) is read first
 * when asked and again after every reconnect, when an announcement may have been missed;
 * otherwise each announcement says where the transaction is.
 */
export async function untilStage(
  next: NextAnnouncement,
  read: () => Promise<Logged>,
  timeoutMs: number,
  stage: Stage,
  { readFirst = false, meanwhile }: StageWait = {},
  now: () => number = Date.now,
): Promise<Announcement | 'timeout' | 'gone'> {
  const deadline = now() + timeoutMs;
  const reached = (announcement: Announcement) => stage === 'decided' || announcement.complete;
  let mustRead = readFirst;
  let began = false;
  for (;;) {
    const outcome = await next(Math.max(0, deadline - now()), async () => {
      const logged = mustRead ? await read() : undefined;
      if (logged === 'gone' || (logged && reached(logged))) return logged;
      if (!began) await meanwhile?.();
      began = true;
      return undefined;
    });
    if (outcome === 'timeout' || outcome === 'gone') return outcome;
    if (outcome !== 'reread' && reached(outcome)) return outcome;
    if (now() >= deadline) return 'timeout';
    mustRead = outcome === 'reread';
  }
}

/**
 * How long a pool's LISTEN is kept with nobody waiting on it. postgres.js re-subscribes at once
 * whenever its connection drops, without end: a shard whose database is gone (retired by
 * `npm run shards -- remove`) would see a storm of logins from every container still listening.
 */
export const IDLE_LISTEN_MS = 30_000;

interface Listening {
  readonly subscribed: Promise<postgres.ListenMeta>;
  waiters: number;
  idle?: NodeJS.Timeout;
}

/**
 * Wakes checkouts waiting for a decision. Each order shard's pool keeps one LISTEN connection
 * while checkouts wait on it, and for `IDLE_LISTEN_MS` after (postgres.js re-subscribes after a
 * reconnect); a waiter is woken by the NOTIFY its decision's local transaction sends on commit,
 * which carries the decision, so a woken checkout need not read the log again.
 */
export class DecisionWaiter {
  private readonly listening = new WeakMap<postgres.Sql, Listening>();
  private readonly waiting = new Map<string, Set<(outcome: WaitOutcome) => void>>();

  constructor(private readonly idleListenMs = IDLE_LISTEN_MS) {}

  /**
   * Resolves with the first announcement for the transaction after `meanwhile` started, or how
   * the wait ended otherwise. Listening starts before `meanwhile` runs, so nothing it causes can
   * be missed; `meanwhile` may answer at once (e.g. it found the decision in the log).
   */
  async next(sql: postgres.Sql, txnId: string, timeoutMs: number, meanwhile: () => Promise<Logged>): Promise<WaitOutcome> {
    const listening = this.listen(sql);
    try {
      await listening.subscribed;
      return await this.wait(txnId, timeoutMs, meanwhile);
    } finally {
      this.release(sql, listening);
    }
  }

  /** `untilStage` on this shard's announcements of the transaction. */
  untilReached(
    sql: postgres.Sql,
    txnId: string,
    timeoutMs: number,
    stage: Stage,
    read: () => Promise<Logged>,
    options: StageWait = {},
  ): Promise<Announcement | 'timeout' | 'gone'> {
    return untilStage((ms, meanwhile) => this.next(sql, txnId, ms, meanwhile), read, timeoutMs, stage, options);
  }

  private async wait(txnId: string, timeoutMs: number, meanwhile: () => Promise<Logged>): Promise<WaitOutcome> {
    // Several announcements can arrive in one read of the socket, before this wait's caller runs
    // again: the most telling one is kept (a later one would otherwise be lost).
    let latest: WaitOutcome | undefined;
    let wake!: (outcome: WaitOutcome) => void;
    const woken = new Promise<WaitOutcome>((resolve) => {
      wake = (outcome) => {
        latest = mostTelling(latest, outcome);
        resolve(latest);
      };
    });
    const waiters = this.waiting.get(txnId) ?? new Set();
    waiters.add(wake);
    this.waiting.set(txnId, waiters);
    let timer: NodeJS.Timeout | undefined;
    try {
      const known = await meanwhile();
      if (known) return known;
      const first = await Promise.race([
        woken,
        new Promise<WaitOutcome>((resolve) => (timer = setTimeout(() => resolve('timeout'), timeoutMs))),
      ]);
      return latest ?? first;
    } finally {
      clearTimeout(timer);
      waiters.delete(wake);
      if (waiters.size === 0) this.waiting.delete(txnId);
    }
  }

  private listen(sql: postgres.Sql): Listening {
    let listening = this.listening.get(sql);
    if (!listening) {
      let subscriptions = 0;
      const subscribed = sql.listen(
        DECISION_CHANNEL,
        (payload) => {
          for (const announcement of parseAnnouncements(payload)) {
            for (const wake of this.waiting.get(announcement.txnId) ?? []) wake(announcement);
          }
        },
        () => {
          // A second subscription is a reconnect: whatever was announced in between is lost.
          if (subscriptions++ > 0) for (const waiters of this.waiting.values()) for (const wake of waiters) wake('reread');
        },
      );
      const created: Listening = { subscribed, waiters: 0 };
      subscribed.catch(() => {
        if (this.listening.get(sql) === created) this.listening.delete(sql);
      });
      listening = created;
      this.listening.set(sql, created);
    }
    clearTimeout(listening.idle);
    listening.waiters++;
    return listening;
  }

  /** The last waiter on a pool gone, its LISTEN is let go once nobody has waited there for a while. */
  private release(sql: postgres.Sql, listening: Listening): void {
    if (--listening.waiters > 0) return;
    clearTimeout(listening.idle);
    listening.idle = setTimeout(() => {
      if (listening.waiters > 0 || this.listening.get(sql) !== listening) return;
      this.listening.delete(sql);
      listening.subscribed
        .then(
          ({ unlisten }) => unlisten(),
          () => undefined,
        )
        .catch(() => undefined);
    }, this.idleListenMs);
    listening.idle.unref();
  }
}

/** Announcements only move forward (decided, then complete): a complete one says all, a reconnect says more than an incomplete one. */
export function mostTelling(kept: WaitOutcome | undefined, arrived: WaitOutcome): WaitOutcome {
  const rank = (outcome: WaitOutcome | undefined) =>
    outcome === undefined || outcome === 'timeout' ? 0 : outcome === 'reread' ? 2 : outcome === 'gone' || outcome.complete ? 3 : 1;
  return rank(arrived) >= rank(kept) ? arrived : kept!;
}
