import type postgres from 'postgres';
import { mapLimit } from '../../infra/measure/client';
import { Stack } from '../../infra/stack/stack';
import { eventually } from './support/eventually';
import { checkoutInFlight, itemWith, ordersOfItem, shop } from './support/shop';
import { kafkaClient, stackConfig } from './support/stack';
import { readGroupHolders } from '../../functions/ops/kafka-view';
import { closeShards, connectLiveShards, unfinishedTransactions, verifyShards } from '../../infra/measure/shard-verifier';

const quiet = { step: () => undefined };
// Every live shard, those `npm run shards` added too: their transactions and records count as much.
let shards: Map<string, postgres.Sql>;
beforeAll(async () => {
  shards = await connectLiveShards(stackConfig);
});
afterAll(() => closeShards(shards));

describe('a function instance killed with SIGKILL during concurrent checkouts', () => {
  it('loses nothing and fails no checkout: each is answered 200 or 409, and after recovery every transaction is finished and every invariant holds', async () => {
    const stack = new Stack(stackConfig, quiet);
    // The worst case: the instance that holds the stock participants' partitions (every checkout
    // has a Prepare there), which after earlier restarts often holds every group.
    const admin = kafkaClient('crash-recovery').admin();
    await admin.connect();
    const [stockGroup] = await readGroupHolders(admin, [`shop-${stackConfig.stage}-stockInstructions`]).finally(() => admin.disconnect());
    const victim = stockGroup?.holders[0]?.instance ?? `offline-${stackConfig.instances - 1}`;
    const victimIndex = Number(victim.replace('offline-', ''));
    const item = await itemWith(1, 150);
    const orders = await ordersOfItem(item, 300, 1);

    const checkouts = checkoutInFlight(
      orders.map(({ orderId }) => orderId),
      60,
    );
    await eventually('the first checkouts to be answered', async () => (checkouts.answered() >= 30 ? true : undefined));
    process.kill(-stack.processes.pidOf(victim)!, 'SIGKILL');
    const answeredAtKill = checkouts.answered();
    const statuses = await checkouts.statuses;
    await stack.restartInstance(victimIndex);
    await eventually(
      'every transaction to be decided and acknowledged',
      async () => ((await unfinishedTransactions(shards)) === 0 ? true : undefined),
      150_000,
    );
    expect(await verifyShards(shards, 10_000)).toEqual([]);

    const states = await mapLimit(orders, 32, async ({ orderId, userId }) => ({
      paid: (await shop.order(orderId)).paid,
      credit: await shop.credit(userId),
    }));
    const paid = states.filter((state) => state.paid).length;
    expect(await shop.stock(item)).toBe(150 - paid);
    expect(paid).toBeLessThanOrEqual(150);
    states.forEach((state, index) => {
      const status = statuses[index]!;
      expect({ index, credit: state.credit }).toEqual({ index, credit: state.paid ? 0 : 1 });
      if (status === 200) expect({ index, paid: state.paid }).toEqual({ index, paid: true });
      if (status >= 400 && status < 500) expect({ index, paid: state.paid }).toEqual({ index, paid: false });
    });
    expect(statuses.filter((status) => status === 200).length).toBeGreaterThan(0);
    // The gateway sends a checkout cut off with its instance to the other one, and the dead
    // instance's partitions move within the consumers' session, well inside the checkout wait.
    expect(statuses.filter((status) => status !== 200 && status !== 409)).toEqual([]);
    expect(answeredAtKill).toBeLessThan(orders.length / 2);
  }, 300_000);
});
