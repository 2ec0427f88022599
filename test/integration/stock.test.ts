import { shop } from './support/shop';
import { publishedMap } from './support/slots';
import { connectTo } from './support/stack';

type ItemReply = { item_id: string; stock: number; price: number; error: string; code: string };

async function createItem(price: number): Promise<string> {
  const created = await shop.request<ItemReply>('POST', `/stock/item/create/${price}`);
  expect(created.status).toBe(200);
  return created.body.item_id;
}

describe('stock API through the gateway', () => {
  it('creates an item with no stock and finds it', async () => {
    const itemId = await createItem(5);

    const found = await shop.request('GET', `/stock/find/${itemId}`);

    expect(found).toEqual({ status: 200, body: { stock: 0, price: 5 }, contentType: expect.stringMatching(/^application\/json/) });
  });

  it('adds and subtracts stock, replying with the new stock', async () => {
    const itemId = await createItem(3);

    const added = await shop.request('POST', `/stock/add/${itemId}/10`);
    const taken = await shop.request('POST', `/stock/subtract/${itemId}/4`);

    expect(added.body).toEqual({ item_id: itemId, stock: 10 });
    expect(taken.body).toEqual({ item_id: itemId, stock: 6 });
    expect((await shop.request('GET', `/stock/find/${itemId}`)).body).toEqual({ stock: 6, price: 3 });
  });

  it('refuses to take more than there is with 409 and changes nothing', async () => {
    const itemId = await createItem(1);
    await shop.request('POST', `/stock/add/${itemId}/2`);

    const refused = await shop.request<ItemReply>('POST', `/stock/subtract/${itemId}/3`);

    expect(refused.status).toBe(409);
    expect(refused.body.error).toMatch(/fewer than the 3/);
    expect(refused.body.code).toBe('insufficient_stock');
    expect((await shop.request('GET', `/stock/find/${itemId}`)).body).toEqual({ stock: 2, price: 1 });
  });

  it('answers 404 for an item that does not exist', async () => {
    for (const [method, path] of [
      ['GET', '/stock/find/no-such-item'],
      ['POST', '/stock/add/no-such-item/1'],
      ['POST', '/stock/subtract/no-such-item/1'],
    ] as const) {
      const reply = await shop.request<ItemReply>(method, path);
      expect({ path, status: reply.status }).toEqual({ path, status: 404 });
      expect(reply.body.error).toMatch(/no-such-item/);
    }
  });

  it.each([
    ['/stock/add/{id}/0', 'amount must be positive'],
    ['/stock/add/{id}/-5', 'amount must not be negative'],
    ['/stock/add/{id}/2.5', 'amount must be a whole number'],
    ['/stock/add/{id}/abc', 'amount must be a whole number'],
    ['/stock/add/{id}/9007199254740992', 'amount must be at most 9007199254740991'],
    ['/stock/subtract/{id}/1e2', 'amount must be a whole number'],
    [`/stock/add/${'x'.repeat(129)}/1`, 'item_id is longer than 128 characters'],
    ["/stock/add/1';drop table items;--/1", "item_id may hold only letters, digits, '-' and '_'"],
  ])('answers 400 naming the parameter for POST %s and changes nothing', async (template, message) => {
    const itemId = await createItem(2);
    await shop.request('POST', `/stock/add/${itemId}/7`);

    const reply = await shop.request<ItemReply>('POST', template.replace('{id}', itemId).replace(/'/g, '%27').replace(/;/g, '%3B'));

    expect(reply.status).toBe(400);
    expect(reply.body.error).toBe(message);
    expect((await shop.request('GET', `/stock/find/${itemId}`)).body).toEqual({ stock: 7, price: 2 });
  });

  it('refuses a malformed price on create', async () => {
    const reply = await shop.request<ItemReply>('POST', '/stock/item/create/-1');
    expect(reply).toMatchObject({ status: 400, body: { error: 'price must not be negative' } });
  });

  it('never lets concurrent subtractions take the stock below zero', async () => {
    const itemId = await createItem(1);
    await shop.request('POST', `/stock/add/${itemId}/25`);

    const replies = await Promise.all(Array.from({ length: 60 }, () => shop.request('POST', `/stock/subtract/${itemId}/1`)));

    expect(replies.filter((reply) => reply.status === 200)).toHaveLength(25);
    expect(replies.filter((reply) => reply.status === 409)).toHaveLength(35);
    expect((await shop.request('GET', `/stock/find/${itemId}`)).body).toEqual({ stock: 0, price: 1 });
  });

  it('batch_init creates items "0" … "n-1" spread over every stock shard, and overwrites them', async () => {
    const first = await shop.request<{ msg: string }>('POST', '/stock/batch_init/1000/50/4');
    await shop.request('POST', '/stock/subtract/7/10');
    const again = await shop.request('POST', '/stock/batch_init/1000/20/3');

    expect(first.status).toBe(200);
    expect(typeof first.body.msg).toBe('string');
    expect(again.status).toBe(200);
    expect((await shop.request('GET', '/stock/find/7')).body).toEqual({ stock: 20, price: 3 });
    expect((await shop.request('GET', '/stock/find/999')).body).toEqual({ stock: 20, price: 3 });

    // Every shard the stock map lists (another test may have added one).
    const shards = (await publishedMap('stock')).shards.map((shard) => connectTo(`stock-${shard}`));
    try {
      const counts = await Promise.all(
        shards.map(async (sql) =>
          Number((await sql`select count(*) as n from items where item_id ~ '^[0-9]+$' and item_id::bigint < 1000`)[0]!.n),
        ),
      );
      expect(counts.reduce((sum, count) => sum + count, 0)).toBe(1000);
      expect(Math.min(...counts)).toBeGreaterThan(1000 / shards.length / 2);
    } finally {
      await Promise.all(shards.map((sql) => sql.end()));
    }
  });
});
