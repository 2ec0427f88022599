import { randomUUID } from 'node:crypto';
import { Agent, request } from 'undici';

/** A reply of the shop's API: its status, JSON body and content type. */
export interface Reply<T = Record<string, unknown>> {
  readonly status: number;
  readonly body: T;
  readonly contentType: string | null;
  /** A 503's Retry-After, in ms. */
  readonly retryAfterMs?: number;
  /** The first reply to this Idempotency-Key, given again (`Idempotent-Replayed: true`). */
  readonly replayed?: boolean;
  /** With `servedBy` asked for: the instance that answered, as the local gateway names it (`X-Served-By`: host:port, the last one tried last). */
  readonly servedBy?: string;
}

/** How often a request that must succeed is sent while it answers 503, or (a write, with its key) an unknown outcome. */
const EXPECT_OK_TRIES = 5;

/**
 * Whether a write sent with an Idempotency-Key should be sent again with the same key: nothing
 * written (503), an outcome unknown (502 `outcome_unknown`, or no reply at all: status 0), or its
 * first try still running (409 `idempotency_in_flight`). The key makes any of these safe.
 */
export function worthRetrying(reply: { readonly status: number; readonly body: unknown }): boolean {
  const code = (reply.body as { code?: unknown } | null)?.code;
  return reply.status === 503 || reply.status === 0 || code === 'outcome_unknown' || code === 'idempotency_in_flight';
}

/**
 * A client of the public HTTP API, as any user of the system would use it. One keep-alive
 * connection pool, sized for the concurrency asked for.
 */
export class ShopClient {
  private readonly dispatcher: Agent;

  constructor(
    readonly baseUrl: string,
    connections = 256,
  ) {
    this.dispatcher = new Agent({ connections, keepAliveTimeout: 30_000, headersTimeout: 120_000, bodyTimeout: 120_000 });
  }

  /** One request; with `idempotencyKey`, a write sent with that Idempotency-Key. */
  async request<T = Record<string, unknown>>(
    method: 'GET' | 'POST',
    path: string,
    { idempotencyKey, servedBy }: { readonly idempotencyKey?: string; readonly servedBy?: boolean } = {},
  ): Promise<Reply<T>> {
    const headers = idempotencyKey === undefined ? undefined : { 'idempotency-key': idempotencyKey };
    const response = await request(`${this.baseUrl}${path}`, { method, headers, dispatcher: this.dispatcher });
    const text = await response.body.text();
    try {
      const contentType = response.headers['content-type'];
      const retryAfter = Number(response.headers['retry-after']);
      return {
        status: response.statusCode,
        body: JSON.parse(text) as T,
        contentType: typeof contentType === 'string' ? contentType : null,
        ...(Number.isFinite(retryAfter) && retryAfter >= 0 ? { retryAfterMs: retryAfter * 1_000 } : {}),
        ...(response.headers['idempotent-replayed'] === 'true' ? { replayed: true } : {}),
        ...(servedBy && typeof response.headers['x-served-by'] === 'string' ? { servedBy: response.headers['x-served-by'] } : {}),
      };
    } catch {
      throw new Error(`${method} ${path} answered ${response.statusCode} with a body that is not JSON: ${text.slice(0, 200)}`);
    }
  }

  /**
   * The body of a request that must succeed. A write is sent with an Idempotency-Key of its own,
   * and tried again only with that key, so that it is applied once however often it is sent. A
   * read, or a write whose reply is worth retrying (`worthRetrying`), is tried again after its
   * Retry-After, as a client of the API should, up to `EXPECT_OK_TRIES` times: the measuring
   * commands set up their rows while faults and moves run. Anything else throws with the reply.
   */
  async expectOk<T = Record<string, unknown>>(method: 'GET' | 'POST', path: string): Promise<T> {
    const reply = await this.keyedWhileWorthRetrying<T>(method, path, EXPECT_OK_TRIES);
    if (reply.status === 200) return reply.body;
    throw new Error(`${method} ${path} answered ${reply.status}: ${JSON.stringify(reply.body)}`);
  }

  /** A write sent with an Idempotency-Key of its own, and again with that key while `worthRetrying`: its last reply. */
  keyedWrite<T = Record<string, unknown>>(path: string, tries = EXPECT_OK_TRIES): Promise<Reply<T>> {
    return this.keyedWhileWorthRetrying<T>('POST', path, tries);
  }

  /** A write with an Idempotency-Key of its own, a read without; sent again after its Retry-After while `worthRetrying`. */
  private keyedWhileWorthRetrying<T>(method: 'GET' | 'POST', path: string, tries: number): Promise<Reply<T>> {
    const idempotencyKey = method === 'POST' ? randomUUID() : undefined;
    return this.sendWhile<T>(method, path, {
      idempotencyKey,
      tries,
      again: worthRetrying,
      pauseMs: (reply) => reply.retryAfterMs ?? 1_000,
    });
  }

  /** Sends a request, and again while `again` says so, up to `tries` times; no reply counts as status 0. Its last reply. */
  private async sendWhile<T>(
    method: 'GET' | 'POST',
    path: string,
    how: {
      readonly idempotencyKey?: string;
      readonly tries: number;
      readonly again: (reply: Reply<T>) => boolean;
      readonly pauseMs: (reply: Reply<T>, attempt: number) => number;
    },
  ): Promise<Reply<T>> {
    for (let attempt = 1; ; attempt++) {
      const reply = await this.request<T>(method, path, { idempotencyKey: how.idempotencyKey }).catch(
        (error: unknown): Reply<T> => ({ status: 0, body: { error: String(error) } as T, contentType: null }),
      );
      if (!how.again(reply) || attempt === how.tries) return reply;
      await new Promise((resolve) => setTimeout(resolve, how.pauseMs(reply, attempt)));
    }
  }

  createUser = async () => (await this.expectOk<{ user_id: string }>('POST', '/payment/create_user')).user_id;
  addFunds = (userId: string, amount: number) => this.expectOk('POST', `/payment/add_funds/${userId}/${amount}`);
  credit = async (userId: string) => (await this.expectOk<{ credit: number }>('GET', `/payment/find_user/${userId}`)).credit;
  createItem = async (price: number) => (await this.expectOk<{ item_id: string }>('POST', `/stock/item/create/${price}`)).item_id;
  addStock = (itemId: string, amount: number) => this.expectOk('POST', `/stock/add/${itemId}/${amount}`);
  stock = async (itemId: string) => (await this.expectOk<{ stock: number }>('GET', `/stock/find/${itemId}`)).stock;
  createOrder = async (userId: string) => (await this.expectOk<{ order_id: string }>('POST', `/orders/create/${userId}`)).order_id;
  addItem = (orderId: string, itemId: string, quantity: number) =>
    this.expectOk('POST', `/orders/addItem/${orderId}/${itemId}/${quantity}`);
  order = (orderId: string) =>
    this.expectOk<{ order_id: string; paid: boolean; items: [string, number][]; user_id: string; total_cost: number }>(
      'GET',
      `/orders/find/${orderId}`,
    );
  checkout = (orderId: string) => this.request('POST', `/orders/checkout/${orderId}`);
  /**
   * A checkout's status alone, its body unread: what the course's benchmark judges, so the bench
   * measures any implementation of the API (the course template answers a checkout in plain text).
   */
  checkoutStatus = async (orderId: string): Promise<number> => {
    const response = await request(`${this.baseUrl}/orders/checkout/${orderId}`, { method: 'POST', dispatcher: this.dispatcher });
    await response.body.dump();
    return response.statusCode;
  };
  /**
   * A checkout sent again while its outcome is unknown (502 `outcome_unknown`, or no reply): a
   * checkout is idempotent per order, so the retry answers with the order's outcome.
   */
  settledCheckout(orderId: string): Promise<Reply> {
    return this.sendWhile('POST', `/orders/checkout/${orderId}`, {
      tries: EXPECT_OK_TRIES,
      again: (reply) => reply.status === 0 || reply.body.code === 'outcome_unknown',
      pauseMs: (_reply, attempt) => 200 * attempt,
    });
  }

  close(): Promise<void> {
    return this.dispatcher.close();
  }
}

/** Runs `task` over `items` with at most `limit` at once, keeping results in order. */
export async function mapLimit<T, R>(items: readonly T[], limit: number, task: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const index = next++;
        results[index] = await task(items[index]!, index);
      }
    }),
  );
  return results;
}
