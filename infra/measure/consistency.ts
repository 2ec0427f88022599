import { parseArgs } from 'node:util';
import { loadStackConfig } from '../config';
import { ShopClient } from './client';
import { runCommand, wholeOption } from './run-command';
import { runContention, verifyContention } from './contention';
import { closeShards, connectLiveShards, verifyShards, waitUntilFinished } from './shard-verifier';

const USAGE = `npm run consistency -- [options]
  --url URL         the gateway (default http://localhost:8000)
  --stock N         units of the one item (default 100)
  --users N         users, one order and one checkout each (default 1000)
  --credit N        credit of each user (default 1)
  --concurrency N   checkouts at once (default: all)
  --settle S        seconds to wait for every transaction to finish (default 120)`;

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      url: { type: 'string', default: 'http://localhost:8000' },
      stock: { type: 'string', default: '100' },
      users: { type: 'string', default: '1000' },
      credit: { type: 'string', default: '1' },
      concurrency: { type: 'string' },
      settle: { type: 'string', default: '120' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const whole = (name: 'stock' | 'users' | 'credit' | 'concurrency' | 'settle', min: number) => wholeOption(values, name, min);
  const options = {
    stock: whole('stock', 0),
    users: whole('users', 1),
    credit: whole('credit', 0),
    price: 1,
    ...(values.concurrency === undefined ? {} : { concurrency: whole('concurrency', 1) }),
  };
  const config = loadStackConfig();
  const client = new ShopClient(values.url!, Math.max(256, options.users));
  const shards = await connectLiveShards(config);
  try {
    console.log(
      `consistency: 1 item with ${options.stock} stock, ${options.users} users with ${options.credit} credit, ${options.users} checkouts at once`,
    );
    const started = performance.now();
    const run = await runContention(client, options);
    const statuses: Record<number, number> = {};
    for (const { reply } of run.orders) statuses[reply.status] = (statuses[reply.status] ?? 0) + 1;
    console.log(`checkouts answered in ${((performance.now() - started) / 1000).toFixed(1)} s: ${JSON.stringify(statuses)}`);
    // A 5xx is allowed (nothing taken, retry), but says something went slow or wrong: show why.
    const reasons = new Map<string, number>();
    for (const { reply } of run.orders)
      if (reply.status >= 500) reasons.set(String(reply.body.error), (reasons.get(String(reply.body.error)) ?? 0) + 1);
    for (const [reason, count] of reasons) console.log(`  ${count} × 5xx: ${reason}`);

    const unfinished = await waitUntilFinished(shards, whole('settle', 1) * 1000);
    const violations = [
      ...(unfinished > 0 ? [`${unfinished} transactions still not decided and acknowledged after ${values.settle} s`] : []),
      ...(await verifyContention(client, run)),
      ...(await verifyShards(shards, 10_000)),
    ];
    if (violations.length === 0) {
      console.log(
        'consistent: stock and money conserved, nothing negative, paid ⇔ charged and taken, every 200 committed, every 4xx aborted',
      );
      return 0;
    }
    console.error(`${violations.length} violations:\n${violations.map((violation) => `  - ${violation}`).join('\n')}`);
    return 1;
  } finally {
    await Promise.all([client.close(), closeShards(shards)]);
  }
}

runCommand(main);
