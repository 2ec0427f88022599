import type postgres from 'postgres';
import { ShopClient } from '../../infra/measure/client';
import { runContention, verifyContention } from '../../infra/measure/contention';
import { closeShards, connectLiveShards, unfinishedTransactions, verifyShards } from '../../infra/measure/shard-verifier';
import { eventually } from './support/eventually';
import { gatewayUrl, stackConfig } from './support/stack';

const client = new ShopClient(gatewayUrl, 1000);
// Every live shard, those `npm run shards` added too: their transactions and records count as much.
let shards: Map<string, postgres.Sql>;
beforeAll(async () => {
  shards = await connectLiveShards(stackConfig);
});
afterAll(() => Promise.all([client.close(), closeShards(shards)]));

describe('checkout under contention', () => {
  it('1 item with 100 stock, 1000 users with 1 credit, 1000 concurrent checkouts: exactly 100 commit, and every reply agrees with the data', async () => {
    const run = await runContention(client, { stock: 100, users: 1000, credit: 1, price: 1 });

    const statuses = run.orders.map((order) => order.reply.status);
    const committed = statuses.filter((status) => status === 200).length;
    expect({ committed, violations: await verifyContention(client, run) }).toEqual({ committed: 100, violations: [] });
    expect(await client.stock(run.itemId)).toBe(0);
    // Every other checkout is refused for want of stock, and says so: none runs out of time.
    const unrefused = run.orders.filter((order) => order.reply.status !== 200 && order.reply.status !== 409);
    expect(unrefused.map((order) => `${order.reply.status} ${String(order.reply.body.error)}`)).toEqual([]);
    expect(statuses.filter((status) => status === 409).length).toBe(900);

    await eventually(
      'every transaction to be acknowledged',
      async () => ((await unfinishedTransactions(shards)) === 0 ? true : undefined),
      60_000,
    );
    expect(await verifyShards(shards, 10_000)).toEqual([]);
  }, 240_000);
});
