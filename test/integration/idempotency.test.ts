import { randomUUID } from 'node:crypto';
import { mapLimit, type Reply, worthRetrying } from '../../infra/measure/client';
import type postgres from 'postgres';
import { Stack } from '../../infra/stack/stack';
import { forgetOldKeys } from '../../layers/db/idempotency';
import { inRolledBackTransaction } from './support/rolled-back';
import { connectTo } from './support/stack';
import { eventually } from './support/eventually';
import { itemWith, orderOf, shop, userWith } from './support/shop';
import { stackConfig } from './support/stack';

/**
 * Writes sent with an Idempotency-Key, through the gateway, as a client retrying them would: a
 * retry gets the first reply again and writes nothing, whatever the write and however many are
 * sent at once; and with a function instance killed -9 under them, every reply tells the truth
 * about what was written.
 */
const post = (path: string, idempotencyKey: string) => shop.request('POST', path, { idempotencyKey });

describe('a write sent again with the same Idempotency-Key', () => {
  it.each([
    ['add_funds', async () => `/payment/add_funds/${await userWith(10)}/5`],
    ['pay', async () => `/payment/pay/${await userWith(10)}/5`],
    ['stock add', async () => `/stock/add/${await itemWith(1, 10)}/5`],
    ['stock subtract', async () => `/stock/subtract/${await itemWith(1, 10)}/5`],
    ['addItem', async () => `/orders/addItem/${await orderOf(await userWith(0), [])}/${await itemWith(2, 0)}/3`],
  ])('%s: gets the first reply again, marked replayed, and is applied once', async (_name, pathOf) => {
    const path = await pathOf();
    const key = randomUUID();
    const first = await post(path, key);
    const again = await post(path, key);
    expect(first).toMatchObject({ status: 200 });
    expect(first.replayed).toBeUndefined();
    expect(again).toMatchObject({ status: 200, body: first.body, replayed: true });
    const third = await post(path, randomUUID());
    expect(third.status).toBe(200);
    expect(third.body).not.toEqual(first.body);
  });

  it.each([
    ['create_user', () => '/payment/create_user', 'user_id'],
    ['item/create', () => '/stock/item/create/7', 'item_id'],
    ['orders/create', () => `/orders/create/some-user`, 'order_id'],
  ])('%s: returns the same id, and the row it made once', async (_name, pathOf, idField) => {
    const key = randomUUID();
    const [first, again] = [await post(pathOf(), key), await post(pathOf(), key)];
    expect(first.status).toBe(200);
    expect(again).toMatchObject({ status: 200, replayed: true, body: { [idField]: first.body[idField] } });
    const other = await post(pathOf(), randomUUID());
    expect(other.body[idField]).not.toBe(first.body[idField]);
  });

  it('with another request is refused with 422 idempotency_key_reused, writing nothing', async () => {
    const userId = await userWith(10);
    const key = randomUUID();
    expect((await post(`/payment/add_funds/${userId}/5`, key)).status).toBe(200);
    const reused = await post(`/payment/add_funds/${userId}/6`, key);
    expect(reused).toMatchObject({ status: 422, body: { code: 'idempotency_key_reused' } });
    expect(await shop.credit(userId)).toBe(15);
  });

  it('keeps no key for a refusal: it changed nothing, and the same key is decided afresh', async () => {
    const userId = await userWith(3);
    const key = randomUUID();
    expect(await post(`/payment/pay/${userId}/5`, key)).toMatchObject({ status: 409, body: { code: 'insufficient_credit' } });
    await shop.addFunds(userId, 2);
    expect(await post(`/payment/pay/${userId}/5`, key)).toMatchObject({ status: 200, body: { credit: 0 } });
  });

  it('sent 24 times at once is applied once: each reply is the first one, or says the first is still running', async () => {
    const userId = await userWith(0);
    const key = randomUUID();
    const replies = await Promise.all(Array.from({ length: 24 }, () => post(`/payment/add_funds/${userId}/7`, key)));
    for (const reply of replies) {
      if (reply.status === 409) expect(reply).toMatchObject({ body: { code: 'idempotency_in_flight' }, retryAfterMs: 1_000 });
      else expect(reply).toMatchObject({ status: 200, body: { done: true, credit: 7 } });
    }
    expect(replies.filter((reply) => reply.status === 200 && !reply.replayed)).toHaveLength(1);
    expect(await shop.credit(userId)).toBe(7);
  });

  it('is refused with 400 when the key is not 1 to 255 visible ASCII characters, writing nothing', async () => {
    const userId = await userWith(1);
    const reply = await post(`/payment/add_funds/${userId}/5`, 'x'.repeat(256));
    expect(reply).toMatchObject({ status: 400, body: { code: 'bad_request' } });
    expect(await shop.credit(userId)).toBe(1);
  });
});

it('keys are forgotten once older than their retention, oldest first and in bounded batches; newer ones stay', async () => {
  const payment = connectTo('payment-0');
  try {
    const left = await inRolledBackTransaction(payment, async (tx) => {
      await tx`delete from idempotency_keys`;
      await tx`
        insert into idempotency_keys (written_id, idempotency_key, fingerprint, result, slot, created_at)
        select 'u', 'old-' || n, 'f', '1'::jsonb, 0, now() - interval '2 days' - n * interval '1 second' from generate_series(1, 5) as n
        union all select 'u', 'new', 'f', '1'::jsonb, 0, now()`;
      const forget = () => forgetOldKeys(tx as unknown as postgres.Sql, { retentionMs: 86_400_000, limit: 3 });
      const batches = [await forget(), await forget(), await forget()];
      const keys = await tx<{ idempotency_key: string }[]>`select idempotency_key from idempotency_keys order by 1`;
      return { batches, keys: keys.map((row) => row.idempotency_key) };
    });
    expect(left).toEqual({ batches: [3, 2, 0], keys: ['new'] });
  } finally {
    await payment.end({ timeout: 1 });
  }
});

describe('writes while a function instance is killed with SIGKILL', () => {
  const stack = new Stack(stackConfig, { step: () => undefined });
  const WRITES = 500;
  const code = (reply: Reply) => (reply.body as { code?: string }).code;

  /** The instance that gave a reply, by the gateway's X-Served-By (the last address tried). */
  const instanceOf = (reply: Reply) => {
    const port = Number(reply.servedBy?.split(',').at(-1)?.trim().split(':').at(-1));
    return Number.isInteger(port) ? port - stackConfig.ports.offlineHttpBase : undefined;
  };

  /**
   * 32 clients adding 1 to one user's credit, `WRITES` times in all, while a function instance
   * that is serving them is killed -9 (one the gateway answered from lately: an instance just
   * restarted may not be back in its rotation yet); each write is sent again while `retry` says
   * so. The tries of each write.
   */
  async function addFundsThroughAKill(userId: string, keyed: boolean, retry: (reply: Reply) => boolean): Promise<Reply[][]> {
    let answered = 0;
    let lastServedBy: number | undefined;
    const histories = mapLimit(Array.from({ length: WRITES }), 32, async () => {
      const idempotencyKey = keyed ? randomUUID() : undefined;
      const attempts: Reply[] = [];
      for (let attempt = 1; attempt <= 40; attempt++) {
        const reply = await shop
          .request('POST', `/payment/add_funds/${userId}/1`, { idempotencyKey, servedBy: true })
          .catch((error: unknown): Reply => ({ status: 0, body: { error: String(error) }, contentType: null }));
        attempts.push(reply);
        lastServedBy = instanceOf(reply) ?? lastServedBy;
        if (attempts.length === 1) answered++;
        if (!retry(reply)) break;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      return attempts;
    });
    await eventually('the first writes to be answered', async () => (answered >= 100 ? true : undefined));
    const victim = lastServedBy;
    if (victim === undefined) throw new Error('no reply named the instance that gave it (X-Served-By)');
    process.kill(-stack.processes.pidOf(`offline-${victim}`)!, 'SIGKILL');
    const answeredAtKill = answered;
    const done = await histories;
    await stack.restartInstance(victim);
    expect(answeredAtKill).toBeLessThan(WRITES / 2);
    return done;
  }

  it("without a key, as the course's clients send them: a 503, retried as it invites, never had written", async () => {
    const userId = await userWith(0);
    const done = await addFundsThroughAKill(userId, false, (reply) => reply.status === 503);
    const last = done.map((attempts) => attempts.at(-1)!);
    const ok = last.filter((reply) => reply.status === 200).length;
    const unknown = last.filter((reply) => code(reply) === 'outcome_unknown' || reply.status === 0).length;
    expect(last.filter((reply) => reply.status !== 200 && code(reply) !== 'outcome_unknown')).toEqual([]);
    // Had a 503 written, its retry would have added a second credit: more than the 200s and the unknown outcomes allow.
    const credit = await shop.credit(userId);
    expect({ credit, fromOk: credit >= ok, withinUnknown: credit <= ok + unknown }).toEqual({ credit, fromOk: true, withinUnknown: true });
  }, 120_000);

  it('with a key, every failure retried with it: each write is applied exactly once', async () => {
    const userId = await userWith(0);
    const done = await addFundsThroughAKill(userId, true, worthRetrying);
    expect(done.map((attempts) => attempts.at(-1)!.status).filter((status) => status !== 200)).toEqual([]);
    expect(await shop.credit(userId)).toBe(WRITES);
    // A replayed reply means an earlier try had written: had each earlier try answered 503, one said "nothing changed" falsely.
    const falsely = done.filter((attempts) => attempts.at(-1)!.replayed && attempts.slice(0, -1).every((reply) => reply.status === 503));
    expect(falsely.map((attempts) => attempts.map((reply) => reply.status))).toEqual([]);
    // The kill cut writes off in flight: the test saw what it is about.
    expect(done.flat().filter((reply) => reply.status !== 200).length).toBeGreaterThan(0);
  }, 120_000);
});
