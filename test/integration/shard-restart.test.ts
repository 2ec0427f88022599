import type postgres from 'postgres';
import { mapLimit } from '../../infra/measure/client';
import { closeShards, connectLiveShards, unfinishedTransactions, verifyShards } from '../../infra/measure/shard-verifier';
import { Stack } from '../../infra/stack/stack';
import { eventually } from './support/eventually';
import { checkoutInFlight, itemWith, orderOf, shop, userWith } from './support/shop';
import { stackConfig } from './support/stack';

// Every live shard, those `npm run shards` added too: their transactions and records count as much.
let shards: Map<string, postgres.Sql>;
beforeAll(async () => {
  shards = await connectLiveShards(stackConfig);
});
afterAll(() => closeShards(shards));

describe('a PostgreSQL shard restarted during concurrent checkouts', () => {
  it('keeps every function instance running, and every transaction finishes consistently', async () => {
    const stack = new Stack(stackConfig, { step: () => undefined });
    const item = await itemWith(1, 1000, 0);
    const orders = await mapLimit(Array.from({ length: 200 }), 32, async () => orderOf(await userWith(5), [[item, 1]]));
    const pidsBefore = Array.from({ length: stackConfig.instances }, (_, index) => stack.processes.pidOf(`offline-${index}`));

    const checkouts = checkoutInFlight(orders, 40);
    await eventually('the first checkouts to be answered', async () => (checkouts.answered() >= 20 ? true : undefined));
    await stack.restartDatabase('stock-0');
    const statuses = await checkouts.statuses;
    await eventually('every transaction to finish', async () => ((await unfinishedTransactions(shards)) === 0 ? true : undefined), 150_000);

    expect(stack.deadInstances()).toEqual([]);
    expect(Array.from({ length: stackConfig.instances }, (_, index) => stack.processes.pidOf(`offline-${index}`))).toEqual(pidsBefore);
    expect(await verifyShards(shards, 10_000)).toEqual([]);
    const paid = (await mapLimit(orders, 32, async (orderId) => (await shop.order(orderId)).paid)).filter(Boolean).length;
    expect(await shop.stock(item)).toBe(1000 - paid);
    expect(statuses.filter((status) => status === 200).length).toBeLessThanOrEqual(paid);
  }, 300_000);
});
