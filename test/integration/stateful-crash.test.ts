import type postgres from 'postgres';
import { mapLimit } from '../../infra/measure/client';
import { closeShards, connectLiveShards, unfinishedTransactions, verifyShards } from '../../infra/measure/shard-verifier';
import { isAlive } from '../../infra/processes/processes';
import { kafkaProcessName } from '../../infra/kafka/broker';
import { Stack } from '../../infra/stack/stack';
import { eventually } from './support/eventually';
import { checkoutInFlight, itemWith, orderOf, ordersOfItem, shop, userWith } from './support/shop';
import { stackConfig } from './support/stack';

/**
 * The light default stack recovers from a crashed stateful process without a person, as RDS and
 * MSK restart a failed node: a PostgreSQL server or the Kafka broker killed -9 while checkouts
 * run is started again by the stack's supervisor (npm start's, or the test command's) on its own
 * storage; checkouts commit again, every transaction finishes, every shard agrees with its
 * coordinator, and no acknowledged checkout is lost.
 */
let shards: Map<string, postgres.Sql>;
beforeAll(async () => {
  shards = await connectLiveShards(stackConfig);
});
afterAll(() => closeShards(shards));

const stack = new Stack(stackConfig, { step: () => undefined });
const ORDERS = 200;
const STOCK = 1_000;

it.each([
  ['the PostgreSQL server of stock shard 0, which holds the item', 'postgres-stock-0'],
  ['Kafka node 1 (the broker of the light stack)', kafkaProcessName(stackConfig, 1)],
])(
  '%s killed -9 under checkouts: started again, nothing acknowledged lost',
  async (_what, processName) => {
    const item = await itemWith(1, STOCK, 0);
    const orders = await ordersOfItem(item, ORDERS, 5);
    const checkouts = checkoutInFlight(
      orders.map(({ orderId }) => orderId),
      40,
    );
    await eventually('the first checkouts to be answered', async () => (checkouts.answered() >= 20 ? true : undefined));
    const victim = stack.processes.pidOf(processName)!;
    process.kill(victim, 'SIGKILL');
    const killedAt = Date.now();

    const restarted = await eventually(
      `${processName} started again by the supervisor`,
      async () => {
        const pid = stack.processes.pidOf(processName);
        return pid !== undefined && pid !== victim && isAlive(pid) ? pid : undefined;
      },
      90_000,
    );
    const statuses = await checkouts.statuses;
    // A checkout of the same item, sent once the server is back: it commits.
    const after = await userWith(5);
    const reply = await shop.settledCheckout(await orderOf(after, [[item, 1]]));
    console.log(
      `${processName} killed -9: pid ${victim} → ${restarted}, a new checkout committed ${Date.now() - killedAt} ms after the kill`,
    );
    expect(reply.status).toBe(200);

    await eventually('every transaction to finish', async () => ((await unfinishedTransactions(shards)) === 0 ? true : undefined), 150_000);
    expect(await verifyShards(shards, 10_000)).toEqual([]);
    const states = await mapLimit(orders, 32, async ({ orderId, userId }) => ({
      paid: (await shop.order(orderId)).paid,
      credit: await shop.credit(userId),
    }));
    const paid = states.filter((state) => state.paid).length;
    expect(await shop.stock(item)).toBe(STOCK - paid - 1);
    states.forEach((state, index) => {
      const status = statuses[index]!;
      expect({ index, credit: state.credit }).toEqual({ index, credit: state.paid ? 4 : 5 });
      // Acknowledged is paid; refused is not; an unknown outcome (502, no reply) may be either.
      if (status === 200) expect({ index, paid: state.paid }).toEqual({ index, paid: true });
      if (status >= 400 && status < 500) expect({ index, paid: state.paid }).toEqual({ index, paid: false });
    });
  },
  300_000,
);
