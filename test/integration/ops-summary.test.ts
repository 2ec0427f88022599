import type { OpsSummary } from '../../functions/ops/summary-reads';
import type { TransactionDetail } from '../../functions/ops/coordinator-view';
import { itemWith, orderOf, shop, userWith } from './support/shop';
import { eventually } from './support/eventually';
import { publishedMap, shardOwning } from './support/slots';
import { connectTo, stackConfig } from './support/stack';
import type { ShardedService } from '../../layers/config/services';

/** GET /ops/summary and a transaction's detail, as a script would read them through the gateway. */
const summary = async (): Promise<OpsSummary> => {
  const reply = await shop.request('GET', '/ops/summary');
  expect(reply.status).toBe(200);
  return reply.body as unknown as OpsSummary;
};

it('has every documented field, with the local stack’s shards, instances and consumer groups', async () => {
  const [order, stock, payment] = [await publishedMap('order'), await publishedMap('stock'), await publishedMap('payment')];
  // A function keeps a map up to 10 s: the view has caught up once it names the published versions.
  const figures = await eventually(
    'the live view to show the published slot maps',
    async () => {
      const read = await summary();
      return read.slotMaps.stock.version === stock.version && read.slotMaps.payment.version === payment.version ? read : undefined;
    },
    15_000,
  );

  expect(figures).toMatchObject({
    at: expect.any(Number),
    committed: expect.any(Number),
    refused: expect.any(Number),
    aborted: expect.any(Number),
    perSecond: expect.any(Array),
    inFlight: expect.any(Number),
    undecided: expect.any(Array),
    unacknowledged: expect.any(Number),
    oldestUnacknowledged: expect.any(Array),
    deadLetters: { count: expect.any(Number), latest: expect.any(Array) },
    consumerLag: expect.any(Array),
    consumerGroups: expect.any(Array),
    errors: [],
  });
  expect(figures.oldestUndecidedMs === null || typeof figures.oldestUndecidedMs === 'number').toBe(true);
  // The shards are the ones the slot maps list (another test may have added some).
  const expectedShards = [
    ...order.shards.map((shard) => `order-${shard}`),
    ...stock.shards.map((shard) => `stock-${shard}`),
    ...payment.shards.map((shard) => `payment-${shard}`),
  ];
  expect(figures.shards.map((shard) => shard.name).sort()).toEqual(expectedShards.sort());
  expect(figures.shards.every((shard) => shard.up)).toBe(true);
  for (const shard of figures.shards.filter((s) => s.service !== 'order')) {
    expect(shard).toMatchObject({
      rows: expect.any(Number),
      free: expect.stringMatching(/^\d+$/),
      held: expect.stringMatching(/^\d+$/),
      agrees: true,
    });
  }
  const slotsOf = (service: ShardedService) =>
    figures.shards.filter((shard) => shard.service === service).reduce((sum, shard) => sum + shard.slots!, 0);
  expect({ order: slotsOf('order'), stock: slotsOf('stock'), payment: slotsOf('payment') }).toEqual({
    order: order.slotCount,
    stock: stock.slotCount,
    payment: payment.slotCount,
  });
  expect(figures.slotMaps).toEqual({
    order: { version: order.version, slotCount: order.slotCount, retired: order.retired.map((shard) => `order-${shard}`), pending: null },
    stock: { version: stock.version, slotCount: stock.slotCount, retired: stock.retired.map((shard) => `stock-${shard}`), pending: null },
    payment: {
      version: payment.version,
      slotCount: payment.slotCount,
      retired: payment.retired.map((shard) => `payment-${shard}`),
      pending: null,
    },
  });
  expect(figures.instances!.map((instance) => instance.name)).toEqual(
    Array.from({ length: stackConfig.instances }, (_, index) => `offline-${index}`),
  );
  expect(figures.instances!.every((instance) => instance.up)).toBe(true);
  const groups = figures.consumerGroups!.map((group) => group.group);
  expect(groups).toEqual(
    expect.arrayContaining(['shop-local-orderResults', 'shop-local-stockInstructions', 'shop-local-paymentInstructions']),
  );
  for (const lag of figures.consumerLag!) expect(lag.lag).toBe(lag.end - lag.committed);
});

it('counts a committed and a refused checkout, and shows the committed one’s detail', async () => {
  const before = await summary();
  const item = await itemWith(5, 1);
  const buyer = await userWith(100);
  const paid = await orderOf(buyer, [[item, 1]]);
  const refused = await orderOf(buyer, [[item, 1]]);
  expect((await shop.checkout(paid)).status).toBe(200);
  expect((await shop.checkout(refused)).status).toBe(409);

  const after = await summary();
  expect(after.committed - before.committed).toBeGreaterThanOrEqual(1);
  expect(after.refused - before.refused).toBeGreaterThanOrEqual(1);
  expect(after.perSecond.at(-1)!.at).toBeGreaterThanOrEqual(before.at - 1000);

  const sql = connectTo(await shardOwning('order', paid));
  const [logged] = await sql<{ txn_id: string }[]>`select txn_id from transactions where order_id = ${paid}`;
  await sql.end({ timeout: 5 });
  const detail = await shop.request('GET', `/ops/transactions/${logged!.txn_id}`);
  expect(detail.status).toBe(200);
  const txn = detail.body as unknown as TransactionDetail;
  expect(txn).toMatchObject({ txnId: logged!.txn_id, orderId: paid, state: 'committed', abortReason: null });
  expect([...txn.votedYes].sort()).toEqual([...txn.participants].sort());
  expect(new Date(txn.times.decided!).getTime()).toBeGreaterThanOrEqual(new Date(txn.times.claimed).getTime());
});

it('says so when a transaction is not in the log', async () => {
  const reply = await shop.request('GET', '/ops/transactions/no-such-transaction');
  expect(reply.status).toBe(404);
  expect(reply.body).toEqual({
    error: expect.stringContaining('transaction no-such-transaction is not in the log'),
    code: 'transaction_not_found',
  });
});
