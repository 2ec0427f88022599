import { randomUUID } from 'node:crypto';
import { type ShopClient, worthRetrying } from './client';

/** How often a keyed write is sent while its outcome is unknown or nothing was written. */
const KEYED_TRIES = 10;

export interface StormReply {
  status: number;
  body: Record<string, unknown>;
  replayed?: boolean;
}

/** What the storm's calls came to: the report's counts, and what a user could hold against the shop. */
export interface CallTally {
  readonly calls: number;
  /** per kind of call, how many answered each status (0: no reply) */
  readonly statuses: Record<string, Record<number, number>>;
  readonly slowestMs: number;
  readonly violations: string[];
}

/**
 * Every call of the storm goes through here, so that every one is judged the same way as it is
 * answered: within the bound, and never a 500 or no reply at all.
 */
export class StormCaller {
  private calls = 0;
  private slowestMs = 0;
  private readonly statuses: Record<string, Record<number, number>> = {};
  private readonly violations: string[] = [];

  constructor(
    private readonly client: ShopClient,
    /** the longest a call may take to be answered */
    private readonly boundMs: number,
  ) {}

  /** One request, counted under `kind`; a failure to connect is a reply of status 0, and a violation. */
  async call(kind: string, method: 'GET' | 'POST', path: string, idempotencyKey?: string): Promise<StormReply> {
    const started = Date.now();
    let reply: StormReply;
    try {
      reply = await this.client.request(method, path, { idempotencyKey });
    } catch (error) {
      reply = { status: 0, body: { error: String(error) } };
    }
    const ms = Date.now() - started;
    this.calls++;
    this.slowestMs = Math.max(this.slowestMs, ms);
    this.statuses[kind] ??= {};
    this.statuses[kind][reply.status] = (this.statuses[kind][reply.status] ?? 0) + 1;
    if (ms > this.boundMs) this.violations.push(`${method} ${path} took ${ms} ms (bound ${this.boundMs} ms), answered ${reply.status}`);
    // An unknown outcome is the truth about a write whose connection was lost; its key resolves it (`keyedCall`).
    if (reply.status === 0 || (reply.status >= 500 && reply.status !== 503 && reply.body.code !== 'outcome_unknown'))
      this.violations.push(`${method} ${path} answered ${reply.status}: ${JSON.stringify(reply.body).slice(0, 200)}`);
    return reply;
  }

  /**
   * A write as a careful client sends it: with an Idempotency-Key, sent again with it until its
   * outcome is known. A replay after nothing but 503s means a 503 said "nothing written" of a
   * write that happened.
   */
  async keyedCall(kind: string, path: string): Promise<{ status: number; body: Record<string, unknown> }> {
    const idempotencyKey = randomUUID();
    const earlier: number[] = [];
    for (let attempt = 1; ; attempt++) {
      const reply = await this.call(kind, 'POST', path, idempotencyKey);
      if (reply.replayed && earlier.length > 0 && earlier.every((status) => status === 503))
        this.violations.push(`POST ${path}: answered 503 (nothing written) ${earlier.length} times, then its retry found it written`);
      earlier.push(reply.status);
      if (!worthRetrying(reply)) return reply;
      if (attempt === KEYED_TRIES) {
        if (reply.body.code === 'outcome_unknown')
          this.violations.push(`POST ${path}: outcome still unknown after ${KEYED_TRIES} tries with its key`);
        return reply;
      }
      await new Promise((resolve) => setTimeout(resolve, 100 * attempt));
    }
  }

  /** Read once the storm is over: the counts are the storm's whole, not a moment of it. */
  tally(): CallTally {
    return { calls: this.calls, statuses: this.statuses, slowestMs: this.slowestMs, violations: this.violations };
  }
}
