import { parseArgs } from 'node:util';
import { loadStackConfig } from '../config';
import { Stack } from '../stack/stack';
import { ShopClient } from './client';
import { runCommand, wholeOption } from './run-command';
import { closeShards, connectShards, verifyShards, waitUntilFinished } from './shard-verifier';
import { conservationViolations, type Totals, totalsOf } from './conservation';

const USAGE = `npm run chaos -- [options]   (against the stack that npm start runs)
  --url URL          the gateway (default http://localhost:8000)
  --concurrency N    checkouts in flight during the faults (default 32)
  --items N --users N --orders N   batch_init sizes (default 1000, 1000, 100000)
  --settle S         seconds to wait for every transaction to finish at the end (default 180)`;

interface Outcome {
  readonly at: number;
  readonly status: number;
}

interface Fault {
  readonly name: string;
  /** applies the fault and undoes it; resolves when the component is back */
  readonly run: (stack: Stack) => Promise<void>;
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function faults(config: ReturnType<typeof loadStackConfig>, checkoutTimeoutMs: number): Fault[] {
  const lastInstance = config.instances - 1;
  const instanceName = `offline-${lastInstance}`;
  return [
    {
      name: `kill -9 of serverless-offline ${instanceName}, restarted 2 s later`,
      run: async (stack) => {
        process.kill(-stack.processes.pidOf(instanceName)!, 'SIGKILL');
        await pause(2_000);
        await stack.restartInstance(lastInstance);
      },
    },
    {
      name: 'Kafka broker stopped for 5 s, then started again',
      run: async (stack) => {
        await stack.processes.stop('kafka', 'SIGTERM', 30_000);
        await pause(5_000);
        await stack.restartKafka();
      },
    },
    {
      name: 'PostgreSQL shard stock-0 restarted',
      run: (stack) => stack.restartDatabase('stock-0'),
    },
    {
      name: `SIGSTOP of ${instanceName} for the 2PC timeout + 3 s, then SIGCONT`,
      run: async (stack) => {
        await stack.restartInstance(lastInstance);
        const pid = stack.processes.pidOf(instanceName)!;
        process.kill(-pid, 'SIGSTOP');
        await pause(checkoutTimeoutMs + 3_000);
        process.kill(-pid, 'SIGCONT');
      },
    },
  ];
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      url: { type: 'string', default: 'http://localhost:8000' },
      concurrency: { type: 'string', default: '32' },
      items: { type: 'string', default: '1000' },
      users: { type: 'string', default: '1000' },
      orders: { type: 'string', default: '100000' },
      settle: { type: 'string', default: '180' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const whole = (name: 'concurrency' | 'items' | 'users' | 'orders' | 'settle') => wholeOption(values, name);
  const sizes = { items: whole('items'), users: whole('users'), orders: whole('orders') };
  const stock = 1_000_000;
  const credit = 1_000_000;
  const config = loadStackConfig();
  const stack = new Stack(config, { step: (message) => console.log(`  stack: ${message}`) });
  const client = new ShopClient(values.url!, 512);
  const shards = connectShards(config);
  try {
    await client.expectOk('POST', `/stock/batch_init/${sizes.items}/${stock}/1`);
    await client.expectOk('POST', `/payment/batch_init/${sizes.users}/${credit}`);
    await client.expectOk('POST', `/orders/batch_init/${sizes.orders}/${sizes.items}/${sizes.users}/1`);
    const initial: Totals = { stock: sizes.items * stock, credit: sizes.users * credit };

    const outcomes: Outcome[] = [];
    let nextOrder = 0;
    let loading = true;
    const load = Promise.all(
      Array.from({ length: whole('concurrency') }, async () => {
        while (loading && nextOrder < sizes.orders) {
          const orderId = String(nextOrder++);
          let status: number;
          try {
            status = (await client.checkout(orderId)).status;
          } catch {
            status = 0;
          }
          outcomes.push({ at: Date.now(), status });
        }
      }),
    );
    const rateBetween = (from: number, to: number) => outcomes.filter((o) => o.at >= from && o.at < to && o.status === 200).length / ((to - from) / 1000);

    await pause(10_000);
    const report: string[] = [];
    for (const fault of faults(config, Number(process.env.SHOP_CHECKOUT_TIMEOUT_MS ?? 5_000))) {
      const baseline = rateBetween(Date.now() - 5_000, Date.now());
      const started = Date.now();
      console.log(`fault: ${fault.name} (baseline ${baseline.toFixed(0)} committed/s)`);
      await fault.run(stack);
      const ended = Date.now();
      let recovered = Number.NaN;
      for (let waited = 0; waited < 120_000; waited += 500) {
        await pause(500);
        if (rateBetween(Date.now() - 2_000, Date.now()) >= baseline / 2) {
          recovered = Date.now();
          break;
        }
      }
      const failed = outcomes.filter((o) => o.at >= started && o.at <= (Number.isNaN(recovered) ? Date.now() : recovered) && (o.status === 0 || o.status >= 500)).length;
      const line = `${fault.name}: ${failed} requests failed (5xx or no reply, safe to retry); throughput back to half its baseline ${Number.isNaN(recovered) ? 'NOT within 120 s' : `${((recovered - ended) / 1000).toFixed(1)} s after the fault ended`} (fault lasted ${((ended - started) / 1000).toFixed(1)} s)`;
      console.log(`  ${line}`);
      report.push(line);
      await pause(5_000);
    }
    loading = false;
    await load;

    console.log(`load stopped after ${outcomes.length} checkouts; waiting for every transaction to finish`);
    const unfinished = await waitUntilFinished(shards, whole('settle') * 1000);
    const violations = [
      ...(unfinished > 0 ? [`${unfinished} transactions still unfinished after ${values.settle} s`] : []),
      ...(await verifyShards(shards, 10_000)),
      ...conservationViolations(initial, await totalsOf(shards, sizes)),
    ];
    const statuses: Record<number, number> = {};
    for (const { status } of outcomes) statuses[status] = (statuses[status] ?? 0) + 1;
    console.log(`\nreplies by status (0 = no reply): ${JSON.stringify(statuses)}`);
    for (const line of report) console.log(`- ${line}`);
    if (violations.length === 0) {
      console.log('verdict: nothing lost; stock and money conserved; every transaction finished; every shard agrees with its coordinator');
      return 0;
    }
    console.error(`verdict: ${violations.length} violations\n${violations.map((v) => `  - ${v}`).join('\n')}`);
    return 1;
  } finally {
    await Promise.all([client.close(), closeShards(shards)]);
  }
}

runCommand(main);
