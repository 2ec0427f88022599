import type postgres from 'postgres';
import { DECISION_CHANNEL } from './transactions';

/**
 * Wakes checkouts waiting for a decision. Each order shard's pool keeps one LISTEN connection
 * for the container's life (postgres.js re-subscribes after a reconnect); a waiter is woken by
 * the NOTIFY its decision's local transaction sends on commit.
 */
export class DecisionWaiter {
  private readonly listening = new WeakMap<postgres.Sql, Promise<unknown>>();
  private readonly waiting = new Map<string, Set<() => void>>();

  /**
   * Resolves true when the transaction's decision is announced, false when `timeoutMs` passes
   * first. Listening starts before `check` runs, so a decision taken in between is never missed:
   * `check` looks at the log once after subscribing and short-cuts the wait when it is decided.
   */
  async wait(sql: postgres.Sql, txnId: string, timeoutMs: number, check: () => Promise<boolean>): Promise<boolean> {
    await this.listen(sql);
    let wake!: () => void;
    const woken = new Promise<boolean>((resolve) => {
      wake = () => resolve(true);
    });
    const waiters = this.waiting.get(txnId) ?? new Set();
    waiters.add(wake);
    this.waiting.set(txnId, waiters);
    let timer: NodeJS.Timeout | undefined;
    try {
      if (await check()) return true;
      return await Promise.race([woken, new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs)))]);
    } finally {
      clearTimeout(timer);
      waiters.delete(wake);
      if (waiters.size === 0) this.waiting.delete(txnId);
    }
  }

  /**
   * Resolves true once `check` holds, false when `timeoutMs` passes first. Unlike `wait`, one
   * announcement is not taken as the answer: a transaction announces each acknowledgement on its
   * own, so `check` runs again after every wake-up.
   */
  async waitUntil(sql: postgres.Sql, txnId: string, timeoutMs: number, check: () => Promise<boolean>): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    let holds = false;
    const recheck = async () => (holds = await check());
    while (!holds && Date.now() < deadline) {
      if (!(await this.wait(sql, txnId, deadline - Date.now(), recheck))) break;
    }
    return holds;
  }

  private listen(sql: postgres.Sql): Promise<unknown> {
    let subscribed = this.listening.get(sql);
    if (!subscribed) {
      subscribed = sql.listen(DECISION_CHANNEL, (payload) => {
        for (const txnId of payload.split(',')) for (const wake of this.waiting.get(txnId) ?? []) wake();
      });
      subscribed.catch(() => this.listening.delete(sql));
      this.listening.set(sql, subscribed);
    }
    return subscribed;
  }
}
