import type { OpsSummary } from '../../functions/ops/summary-reads';
import { stackAddresses } from '../../infra/config';
import { conservationViolations, totalsOf } from '../../infra/measure/conservation';
import { closeShards, connectLiveShards, verifyShards, waitUntilFinished } from '../../infra/measure/shard-verifier';
import { localSecretsClient } from '../../infra/secrets/local-secrets-manager';
import { type MoveReport, ShardsTool } from '../../infra/shards/shards';
import { publishedMap } from './support/slots';
import { orderOf, itemWith, shop, userWith } from './support/shop';
import { stackConfig } from './support/stack';

/**
 * `npm run shards` while the shop serves: 64 checkouts of fresh orders in flight the whole time,
 * a shard is added to stock, to payment and to order, then the order one is removed again, and no
 * request fails. Afterwards every transaction is finished, every shard (the new ones too) agrees
 * with its coordinators, stock and money are conserved, the live view still counts every checkout
 * (the removed order shard's too), and what existed before the moves is still found. Last, with
 * the load over, the stock and payment shards go again, so that the stack (which `npm start`
 * shares with the tests) has the shards it had before, however often the tests run.
 */
const ORDERS = 60_000;
const ITEMS = 1000;
const IN_FLIGHT = 64;

const secrets = localSecretsClient(stackAddresses(stackConfig).secretsEndpoint);
const tool = new ShardsTool(`${stackConfig.service}/${stackConfig.stage}`, secrets, { step: () => undefined });
afterAll(() => secrets.destroy());

it('adds a stock, a payment and an order shard and removes the order one under load, with no failed request, losing nothing', async () => {
  for (const path of [
    `/stock/batch_init/${ITEMS}/1000000000/1`,
    `/payment/batch_init/${ORDERS}/1000000000`,
    `/orders/batch_init/${ORDERS}/${ITEMS}/${ORDERS}/1`,
  ]) {
    expect((await shop.request('POST', path)).status).toBe(200);
  }
  const earlierUser = await userWith(500);
  const earlierItem = await itemWith(5, 50);
  const earlierOrder = await orderOf(earlierUser, [[earlierItem, 2]]);
  const sizes = { items: ITEMS, users: ORDERS, orders: ORDERS };
  const initial = await withLiveShards((shards) => totalsOf(shards, sizes));
  const committedBefore = await committedSoFar();

  let next = 0;
  let running = true;
  const replies: { at: number; status: number }[] = [];
  const worker = async () => {
    while (running && next < ORDERS) {
      const orderId = String(next++);
      replies.push({
        at: Date.now(),
        status: await shop.checkout(orderId).then(
          (reply) => reply.status,
          () => 0,
        ),
      });
    }
  };
  const load = Promise.all(Array.from({ length: IN_FLIGHT }, worker));

  const steps: { what: string; from: number; to: number; report: MoveReport }[] = [];
  const step = async (what: string, run: () => Promise<MoveReport>) => {
    const from = Date.now();
    steps.push({ what, from, report: await run(), to: Date.now() });
  };
  const hold = () => new Promise((resolve) => setTimeout(resolve, 5_000));
  const loadStarted = Date.now();
  try {
    await hold();
    await step('add stock', () => tool.add('stock'));
    await step('add payment', () => tool.add('payment'));
    await step('add order', () => tool.add('order'));
    const added = steps[2]!.report.shard;
    await step(`remove order-${added}`, () => tool.remove('order', added));
    await hold();
  } finally {
    running = false;
    await load;
  }
  const loadEnded = Date.now();

  const rate = (from: number, to: number) =>
    Math.round(replies.filter((reply) => reply.status === 200 && reply.at >= from && reply.at < to).length / ((to - from) / 1000));
  const failed = replies.filter((reply) => reply.status !== 200);
  console.log(
    `shards under load: ${replies.length} checkouts, ${failed.length} failed; committed/s before ${rate(loadStarted, steps[0]!.from)}, ` +
      steps
        .map(
          ({ what, from, to, report }) =>
            `${what}: ${report.moved} slots in ${report.seconds.toFixed(1)} s, longest pause ${report.longestPauseMs} ms, ${rate(from, to)}/s`,
        )
        .join('; ') +
      `; after ${rate(steps.at(-1)!.to, loadEnded)}/s`,
  );
  expect(failed).toEqual([]);

  const [stock, payment, order] = [await publishedMap('stock'), await publishedMap('payment'), await publishedMap('order')];
  expect(stock.shards).toContain(steps[0]!.report.shard);
  expect(payment.shards).toContain(steps[1]!.report.shard);
  expect(order.retired).toContain(steps[2]!.report.shard);
  expect([stock.pending, payment.pending, order.pending]).toEqual([undefined, undefined, undefined]);

  await withLiveShards(async (shards) => {
    expect(shards.has(`order-${steps[2]!.report.shard}`)).toBe(false);
    expect(await waitUntilFinished(shards, 60_000)).toBe(0);
    expect(await verifyShards(shards, 10_000)).toEqual([]);
    expect(conservationViolations(initial, await totalsOf(shards, sizes))).toEqual([]);
  });
  expect(await shop.order(earlierOrder)).toMatchObject({ user_id: earlierUser, items: [[earlierItem, 2]] });
  expect(await shop.stock(earlierItem)).toBe(50);
  expect(await shop.credit(earlierUser)).toBe(500);
  expect(await committedSoFar()).toBeGreaterThanOrEqual(committedBefore + replies.length);

  const [addedStock, addedPayment] = [steps[0]!.report.shard, steps[1]!.report.shard];
  await tool.remove('stock', addedStock);
  await tool.remove('payment', addedPayment);
  expect([(await publishedMap('stock')).retired, (await publishedMap('payment')).retired]).toEqual([
    expect.arrayContaining([addedStock]),
    expect.arrayContaining([addedPayment]),
  ]);
  expect(await shop.stock(earlierItem)).toBe(50);
  expect(await shop.credit(earlierUser)).toBe(500);
}, 900_000);

/** Checkouts committed since the data was created, as the live view counts them over every order shard. */
async function committedSoFar(): Promise<number> {
  const reply = await shop.request('GET', '/ops/summary');
  expect(reply.status).toBe(200);
  return (reply.body as unknown as OpsSummary).committed;
}

async function withLiveShards<T>(use: (shards: Map<string, import('postgres').Sql>) => Promise<T>): Promise<T> {
  const shards = await connectLiveShards(stackConfig);
  try {
    return await use(shards);
  } finally {
    await closeShards(shards);
  }
}
