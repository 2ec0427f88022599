import { itemWith, orderOf, shop, twoStockShards, userWith } from './support/shop';

type Body = Record<string, unknown> & { error?: string };

describe('payment API through the gateway', () => {
  it('creates a user with no credit, adds funds, pays', async () => {
    const created = await shop.request<{ user_id: string }>('POST', '/payment/create_user');
    const userId = created.body.user_id;

    expect(created.status).toBe(200);
    expect((await shop.request('GET', `/payment/find_user/${userId}`)).body).toEqual({ user_id: userId, credit: 0 });
    expect((await shop.request('POST', `/payment/add_funds/${userId}/30`)).body).toEqual({ done: true, credit: 30 });
    expect((await shop.request('POST', `/payment/pay/${userId}/25`)).body).toEqual({ user_id: userId, credit: 5 });
  });

  it('refuses to pay more than the credit with 409 and changes nothing', async () => {
    const userId = await userWith(5);

    const refused = await shop.request<Body>('POST', `/payment/pay/${userId}/6`);

    expect(refused.status).toBe(409);
    expect(refused.body.error).toMatch(/has 5 credit, less than the 6/);
    expect(refused.body.code).toBe('insufficient_credit');
    expect(await shop.credit(userId)).toBe(5);
  });

  it.each([
    ['GET', '/payment/find_user/nobody-here', 404, 'user nobody-here not found'],
    ['POST', '/payment/add_funds/nobody-here/1', 404, 'user nobody-here not found'],
    ['POST', '/payment/pay/nobody-here/1', 404, 'user nobody-here not found'],
    ['POST', '/payment/add_funds/x/0', 400, 'amount must be positive'],
    ['POST', '/payment/pay/x/-3', 400, 'amount must not be negative'],
    ['POST', '/payment/batch_init/abc/1', 400, 'n must be a whole number'],
  ] as const)('%s %s answers %i', async (method, path, status, error) => {
    expect(await shop.request(method, path)).toMatchObject({ status, body: { error } });
  });

  it('batch_init creates users "0" … "n-1" with the starting money', async () => {
    expect((await shop.request('POST', '/payment/batch_init/500/42')).status).toBe(200);
    expect(await shop.credit('0')).toBe(42);
    expect(await shop.credit('499')).toBe(42);
  });
});

describe('order API through the gateway', () => {
  it('creates an order, adds items at their stock price, finds it', async () => {
    const userId = await userWith(0);
    const cheap = await itemWith(3, 0);
    const dear = await itemWith(10, 0);
    const orderId = await shop.createOrder(userId);

    await shop.addItem(orderId, cheap, 2);
    const added = await shop.request('POST', `/orders/addItem/${orderId}/${dear}/1`);
    await shop.addItem(orderId, cheap, 1);

    expect(added.body).toEqual({ order_id: orderId, total_cost: 16 });
    const found = await shop.order(orderId);
    expect(found).toMatchObject({ order_id: orderId, paid: false, user_id: userId, total_cost: 19 });
    expect(new Map(found.items)).toEqual(
      new Map([
        [cheap, 3],
        [dear, 1],
      ]),
    );
  });

  it.each([
    ['GET', '/orders/find/no-such-order', 404, 'order no-such-order not found'],
    ['POST', '/orders/checkout/no-such-order', 404, 'order no-such-order not found'],
    ['POST', '/orders/addItem/no-such-order/1/1', 404, 'order no-such-order not found'],
    ['POST', '/orders/addItem/o/1/0', 400, 'quantity must be positive'],
    ['POST', '/orders/batch_init/10/0/10/1', 400, 'n_items must be positive'],
    ['POST', `/orders/create/${'u'.repeat(129)}`, 400, 'user_id is longer than 128 characters'],
  ] as const)('%s %s answers %i', async (method, path, status, error) => {
    expect(await shop.request(method, path)).toMatchObject({ status, body: { error } });
  });

  it('answers 404 for an item that does not exist and leaves the order as it was', async () => {
    const orderId = await shop.createOrder(await userWith(0));

    expect(await shop.request('POST', `/orders/addItem/${orderId}/no-such-item/1`)).toMatchObject({
      status: 404,
      body: { error: 'item no-such-item not found' },
    });
    expect(await shop.order(orderId)).toMatchObject({ items: [], total_cost: 0 });
  });

  it('batch_init creates orders "0" … "n-1" of two random items, unpaid', async () => {
    expect((await shop.request('POST', '/orders/batch_init/300/50/40/7')).status).toBe(200);

    const order = await shop.order('299');
    expect(order).toMatchObject({ order_id: '299', paid: false, total_cost: 14 });
    expect(order.items.reduce((sum, [, quantity]) => sum + quantity, 0)).toBe(2);
    expect(Number(order.user_id)).toBeLessThan(40);
  });
});

describe('checkout', () => {
  it('takes the stock and charges the user once, atomically, and marks the order paid', async () => {
    const userId = await userWith(100);
    const item = await itemWith(7, 5);
    const orderId = await orderOf(userId, [[item, 2]]);

    const reply = await shop.request('POST', `/orders/checkout/${orderId}`);

    expect(reply).toMatchObject({ status: 200, body: { order_id: orderId, paid: true } });
    expect([await shop.stock(item), await shop.credit(userId), (await shop.order(orderId)).paid]).toEqual([3, 86, true]);
  });

  it('checking out a paid order again answers 200 and charges nothing', async () => {
    const userId = await userWith(10);
    const orderId = await orderOf(userId, [[await itemWith(4, 3), 1]]);
    await shop.checkout(orderId);

    const again = await shop.request('POST', `/orders/checkout/${orderId}`);

    expect(again.status).toBe(200);
    expect(await shop.credit(userId)).toBe(6);
  });

  it('refuses an order paid already from changing (409)', async () => {
    const userId = await userWith(10);
    const item = await itemWith(1, 5);
    const orderId = await orderOf(userId, [[item, 1]]);
    await shop.checkout(orderId);

    expect(await shop.request('POST', `/orders/addItem/${orderId}/${item}/1`)).toMatchObject({ status: 409 });
    expect((await shop.order(orderId)).total_cost).toBe(1);
  });

  it('an empty order checks out with 200 and charges 0; its user must exist', async () => {
    const userId = await userWith(3);

    expect((await shop.request('POST', `/orders/checkout/${await shop.createOrder(userId)}`)).status).toBe(200);
    expect(await shop.credit(userId)).toBe(3);
    expect(await shop.request<Body>('POST', `/orders/checkout/${await shop.createOrder('no-such-user')}`)).toMatchObject({
      status: 404,
      body: { error: expect.stringMatching(/user no-such-user not found/) },
    });
  });

  it('aborts with 409 when the stock is short, taking nothing', async () => {
    const userId = await userWith(100);
    const item = await itemWith(1, 1);
    const orderId = await orderOf(userId, [[item, 2]]);

    const reply = await shop.request<Body>('POST', `/orders/checkout/${orderId}`);

    expect(reply.status).toBe(409);
    expect(reply.body.error).toMatch(/has 1 in stock/);
    expect(reply.body.code).toBe('insufficient_stock');
    expect([await shop.stock(item), await shop.credit(userId), (await shop.order(orderId)).paid]).toEqual([1, 100, false]);
  });

  it('aborts with 409 when the credit is short, taking nothing; after adding funds it succeeds', async () => {
    const userId = await userWith(5);
    const item = await itemWith(3, 10);
    const orderId = await orderOf(userId, [[item, 2]]);

    const refused = await shop.request<Body>('POST', `/orders/checkout/${orderId}`);
    expect([refused.status, refused.body.code]).toEqual([409, 'insufficient_credit']);
    expect([await shop.stock(item), await shop.credit(userId)]).toEqual([10, 5]);

    await shop.addFunds(userId, 1);
    expect((await shop.request('POST', `/orders/checkout/${orderId}`)).status).toBe(200);
    expect([await shop.stock(item), await shop.credit(userId)]).toEqual([8, 0]);
  });

  it('an order across stock shards that aborts on one shard leaves every shard untouched', async () => {
    const userId = await userWith(1000);
    const [one, another] = await twoStockShards();
    const plenty = await itemWith(1, 50, one);
    const scarce = await itemWith(1, 1, another);
    const orderId = await orderOf(userId, [
      [plenty, 5],
      [scarce, 3],
    ]);

    const reply = await shop.request('POST', `/orders/checkout/${orderId}`);

    expect(reply.status).toBe(409);
    expect([await shop.stock(plenty), await shop.stock(scarce), await shop.credit(userId)]).toEqual([50, 1, 1000]);
  });

  it('an order across stock shards commits on every shard at once', async () => {
    const userId = await userWith(1000);
    const [one, another] = await twoStockShards();
    const first = await itemWith(2, 10, one);
    const second = await itemWith(3, 10, another);
    const orderId = await orderOf(userId, [
      [first, 4],
      [second, 1],
    ]);

    expect((await shop.request('POST', `/orders/checkout/${orderId}`)).status).toBe(200);
    expect([await shop.stock(first), await shop.stock(second), await shop.credit(userId)]).toEqual([6, 9, 989]);
  });

  it('two concurrent checkouts of one order charge once', async () => {
    const userId = await userWith(100);
    const item = await itemWith(10, 10);
    const orderId = await orderOf(userId, [[item, 1]]);

    const replies = await Promise.all(Array.from({ length: 8 }, () => shop.request('POST', `/orders/checkout/${orderId}`)));

    expect(replies.map((reply) => reply.status)).toEqual(new Array(8).fill(200));
    expect([await shop.stock(item), await shop.credit(userId)]).toEqual([9, 90]);
  });
});
