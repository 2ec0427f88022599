import { parseArgs } from 'node:util';
import { databaseServers, loadStackConfig, stackAddresses } from '../config';
import { Stack } from '../stack/stack';
import fs from 'node:fs';
import { isAlive, waitFor } from '../processes/processes';
import { MONITOR_PROCESS } from '../postgres/process-names';
import { activeController, kafkaProcessName } from '../kafka/broker';
import { ShopClient } from './client';
import { runCommand, wholeOption } from './run-command';
import type postgres from 'postgres';
import { localSecretsClient } from '../secrets/local-secrets-manager';
import { ShardsTool } from '../shards/shards';
import { closeShards, connectLiveShards, firstCommitAfter, verifyShards, waitUntilFinished } from './shard-verifier';
import { conservationViolations, type Totals, totalsOf } from './conservation';
import { runStorm, type StormReport } from './storm';
import { servesAgain } from './storm-checks';
import type { ShardedService } from '../../layers/config/services';

const USAGE = `npm run chaos -- [options]   (against the stack that npm start runs)
  --url URL          the gateway (default http://localhost:8000)
  --concurrency N    checkouts in flight during the faults (default 32)
  --items N --users N --orders N   batch_init sizes (default 1000, 1000, 500000: each
                     order is checked out once, and the whole run takes about 10 minutes)
  --settle S         seconds to wait for every transaction to finish at the end (default 180)
  --only TEXT        run only the faults whose name contains TEXT (e.g. "kill -9")
  --seed N           the four storms' first seed (default: a new one, printed, so that a run can be replayed)`;

interface Outcome {
  readonly sent: number;
  readonly at: number;
  readonly status: number;
  /** what a failed request answered (its error, or why there was no reply) */
  readonly reason?: string;
  /** a failed reply's machine-readable code (`unavailable`, `outcome_unknown`, …) */
  readonly code?: string;
}

interface Fault {
  readonly name: string;
  /** applies the fault and undoes it; resolves when the component is back; may say what it saw; a kill tells `struck` its moment */
  // biome-ignore lint/suspicious/noConfusingVoidType: most faults have nothing to say and simply return
  readonly run: (stack: Stack, shop: ShopUnderLoad, struck: (at: number) => void) => Promise<string | void>;
}

/** What a fault made of ordinary API calls needs: the client and the batch_init sizes in use; where it tells what broke. */
interface ShopUnderLoad {
  readonly client: ShopClient;
  readonly sizes: { readonly items: number; readonly users: number; readonly orders: number };
  readonly violations: string[];
}

const LARGEST_AMOUNT = Number.MAX_SAFE_INTEGER;

/**
 * #10's first hole, as a user could strike it: fill users' credit to the cap while checkouts hold
 * some of it. Today that is refused for a user with credit held (409), taken for the others; the
 * amounts taken are paid back after, so the money check still holds.
 */
async function addFundsToTheCap({ client, sizes }: ShopUnderLoad): Promise<string> {
  const users = Array.from({ length: Math.min(60, sizes.users) }, (_, index) => String(index));
  const added = new Map<string, number>();
  const statuses: Record<number, number> = {};
  await Promise.all(
    users.map(async (userId, index) => {
      await pause(index * 50);
      const amount = LARGEST_AMOUNT - (await client.credit(userId));
      if (amount <= 0) return;
      const { status } = await client.keyedWrite(`/payment/add_funds/${userId}/${amount}`);
      statuses[status] = (statuses[status] ?? 0) + 1;
      if (status === 200) added.set(userId, amount);
    }),
  );
  await Promise.all([...added].map(([userId, amount]) => client.expectOk('POST', `/payment/pay/${userId}/${amount}`)));
  return `add_funds to the cap: ${JSON.stringify(statuses)} (409: credit held by a checkout in flight)`;
}

/**
 * #10's second hole: batch_init while checkouts of its rows are in flight. It must answer 409
 * (rows hold reservations, orders are being checked out) and change nothing; a 200 here would
 * have reset rows the load is using, and the money and stock checks would no longer apply.
 */
async function batchInitUnderLoad({ client, sizes }: ShopUnderLoad): Promise<string> {
  const statuses: string[] = [];
  for (const path of [
    `/payment/batch_init/${sizes.users}/1000000`,
    `/stock/batch_init/${sizes.items}/1000000/1`,
    `/orders/batch_init/${sizes.orders}/${sizes.items}/${sizes.users}/1`,
  ]) {
    const { status } = await client.request('POST', path);
    statuses.push(`${path.split('/')[1]} ${status}`);
    if (status === 200) throw new Error(`${path} answered 200 under load: it reset rows the load is using, so the run cannot be checked`);
  }
  return `batch_init under load: ${statuses.join(', ')}`;
}

/** When the failed requests were sent and answered, relative to the fault's start, and what they said. */
function describeFailures(failures: readonly Outcome[], started: number): string {
  const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
  const span = (times: number[]) => `${seconds(Math.min(...times) - started)} to ${seconds(Math.max(...times) - started)}`;
  const reasons = new Map<string, number>();
  for (const { status, reason } of failures) {
    const key = `${status} ${(reason ?? '').replace(/\d+/g, 'N').slice(0, 120)}`;
    reasons.set(key, (reasons.get(key) ?? 0) + 1);
  }
  return [
    `  failed requests sent ${span(failures.map((o) => o.sent))} and answered ${span(failures.map((o) => o.at))} after the fault began:`,
    ...[...reasons].map(([reason, count]) => `    ${count} × ${reason}`),
  ].join('\n');
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** `npm run shards`: a shard of `service` added, then removed again, under the load. */
function shardAddedAndRemoved(config: ReturnType<typeof loadStackConfig>, service: ShardedService): Fault {
  return {
    name: `npm run shards: a${service === 'order' ? 'n' : ''} ${service} shard added, then removed again`,
    run: async () => {
      const secrets = localSecretsClient(stackAddresses(config).secretsEndpoint);
      try {
        const tool = new ShardsTool(`${config.service}/${config.stage}`, secrets, { step: () => undefined });
        const added = await tool.add(service);
        const removed = await tool.remove(service, added.shard);
        const steps = [added, removed].map(
          (report) => `${report.moved} slots in ${report.seconds.toFixed(1)} s (longest pause ${report.longestPauseMs} ms)`,
        );
        return `${service}-${added.shard} added: ${steps[0]}; removed: ${steps[1]}`;
      } finally {
        secrets.destroy();
      }
    },
  };
}

/**
 * A seeded storm (`storm.ts`) for 20 s, and on while `beside` runs: its violations, every
 * transaction of its orders finished within 60 s and the shop serving again within 5 s, named
 * after `label`, go to the run's.
 */
async function stormBeside<T>(
  config: ReturnType<typeof loadStackConfig>,
  shop: ShopUnderLoad,
  label: string,
  seed: number,
  beside: Promise<T>,
  onCallsBegin?: () => void,
): Promise<{ report: StormReport; beside: T }> {
  const settled = async () => {
    const live = await connectLiveShards(config);
    try {
      const unfinished = await waitUntilFinished(live, 60_000, 'created');
      if (unfinished > 0) shop.violations.push(`${label}: ${unfinished} transactions of created orders unfinished 60 s after it`);
    } finally {
      await closeShards(live);
    }
  };
  const report = await runStorm(
    shop.client,
    { seed, durationMs: 20_000, lastsUntil: beside, concurrency: 16, boundMs: 15_000, onCallsBegin },
    settled,
  );
  const result = await beside;
  shop.violations.push(...report.violations.map((violation) => `${label}: ${violation}`));
  shop.violations.push(...(await servesAgain(shop.client, 5_000)).map((violation) => `${label}: ${violation}`));
  return { report, beside: result };
}

/**
 * A seeded storm of concurrent, legal API calls (`storm.ts`) beside the load, while a shard is
 * added and removed: every call answered within 15 s and none with a 500, stock and money
 * conserved over the storm's own items, users and orders, and the shop serving again within 5 s.
 * Without its batch_init calls: they would land on the rows the load uses and the money and stock
 * checks count (a batch_init answers 200 whenever none of its rows holds a reservation at that
 * moment, which a 1,000-user payment init met twice in one run). The storm of `npm test` runs them.
 */
function stormBesideShardMoves(config: ReturnType<typeof loadStackConfig>, seed: number, service: ShardedService): Fault {
  return {
    name: `a seeded storm of concurrent API calls (seed ${seed}) while a${service === 'order' ? 'n' : ''} ${service} shard is added and removed`,
    run: async (stack, shop) => {
      const label = `storm seed ${seed}`;
      const { report, beside: moved } = await stormBeside(
        config,
        shop,
        label,
        seed,
        shardAddedAndRemoved(config, service).run(stack, shop, () => undefined),
      );
      return `${label}: ${report.calls} calls, slowest ${report.slowestMs} ms, ${report.violations.length} violations; ${moved}`;
    },
  };
}

/**
 * The exactly-once promise under crashes: a seeded storm (`storm.ts`) whose every write carries an
 * Idempotency-Key and is sent again with it until its outcome is known, while a function instance
 * is killed -9, then frozen for 3 s, and a payment shard restarts. Afterwards every balance equals
 * what the acknowledged writes say, exactly, and no write answered 503 (nothing written) was found
 * written by its retry.
 */
function keyedStormThroughCrashes(config: ReturnType<typeof loadStackConfig>, seed: number): Fault {
  const lastInstance = config.instances - 1;
  const instanceName = `offline-${lastInstance}`;
  return {
    name: `a seeded storm of keyed writes (seed ${seed}) while ${instanceName} is killed -9, then frozen for 3 s, and payment-0 restarts`,
    run: async (stack, shop) => {
      const crashes = (async () => {
        await pause(3_000);
        process.kill(-stack.processes.pidOf(instanceName)!, 'SIGKILL');
        await pause(2_000);
        await stack.restartInstance(lastInstance);
        await pause(3_000);
        const pid = stack.processes.pidOf(instanceName)!;
        process.kill(-pid, 'SIGSTOP');
        await pause(3_000);
        process.kill(-pid, 'SIGCONT');
        await pause(2_000);
        await stack.restartDatabase('payment-0');
      })();
      const label = `keyed storm seed ${seed}`;
      const { report } = await stormBeside(config, shop, label, seed, crashes);
      const statuses = Object.entries(report.statuses)
        .map(([kind, byStatus]) => `${kind} ${JSON.stringify(byStatus)}`)
        .join('; ');
      return `${label}: ${report.calls} calls, slowest ${report.slowestMs} ms, ${report.violations.length} violations; ${statuses}`;
    },
  };
}

/**
 * A stateful process killed -9 (as the kernel's OOM killer would), which the supervisor of
 * npm start starts again on its own storage; the fault ends once it serves again.
 */
function killedAndStartedAgain(processName: string, what: string): Fault {
  return {
    name: `kill -9 of ${what}, started again by npm start's supervisor`,
    run: async (stack, _shop, struck) => {
      const victim = stack.processes.pidOf(processName);
      if (victim === undefined || !isAlive(victim)) throw new Error(`${processName} is not running`);
      process.kill(victim, 'SIGKILL');
      const killed = Date.now();
      struck(killed);
      for (;;) {
        const pid = stack.processes.pidOf(processName);
        if (pid !== undefined && pid !== victim && isAlive(pid)) break;
        if (Date.now() - killed > 120_000)
          throw new Error(`${processName} was not started again within 120 s: is npm start's supervisor running?`);
        await pause(200);
      }
      // Started by the supervisor: waits for that start to finish (it holds the process's restart lock).
      await stack.revive(processName);
      return `${what} serving again ${((Date.now() - killed) / 1000).toFixed(1)} s after the kill`;
    },
  };
}

/**
 * The replicated stack: the primary node of `name` lost as a machine is lost, its keeper and
 * PostgreSQL killed -9 together, and with `disk` its PGDATA too. The monitor promotes the standby;
 * npm start's supervisor starts the node again, which follows the new primary (rebuilt from it
 * when its PGDATA is gone). The fault ends once the formation is a primary and a standby in sync.
 */
function primaryLost(config: ReturnType<typeof loadStackConfig>, name: string, disk: boolean): Fault {
  return {
    name: `kill -9 of ${name}'s primary node${disk ? ' and its PGDATA deleted' : ''}, the standby promoted, the node ${disk ? 'rebuilt' : 'started again'} by npm start's supervisor`,
    run: async (stack, _shop, struck) => {
      const server = databaseServers(config).find((candidate) => candidate.name === name)!;
      const formation = (await stack.databases()).formation(server);
      const primary = await formation.primaryNode();
      process.kill(-stack.processes.pidOf(primary.processName)!, 'SIGKILL');
      const killed = Date.now();
      struck(killed);
      if (disk) {
        // Moved away at once, before the supervisor's next look (each second) can start the node on it.
        fs.renameSync(primary.pgdata, `${primary.pgdata}.lost`);
        fs.rmSync(`${primary.pgdata}.lost`, { recursive: true, force: true });
      }
      const seconds = () => ((Date.now() - killed) / 1000).toFixed(1);
      await waitFor(`${name}: writes taken again`, () => formation.acceptsWrites(), { timeoutMs: 120_000 });
      const writable = seconds();
      await formation.replicated(180_000);
      return `${name} takes writes again ${writable} s after the kill (its standby promoted); a primary and a standby in sync again after ${seconds()} s`;
    },
  };
}

/** The replicated stack's failover monitor killed -9: the shop must not notice; the supervisor starts it again. */
const monitorKilled: Fault = {
  name: "kill -9 of pg_auto_failover's monitor, started again by npm start's supervisor",
  run: async (stack, _shop, struck) => {
    const victim = stack.processes.pidOf(MONITOR_PROCESS);
    if (victim === undefined || !isAlive(victim)) throw new Error('the monitor is not running');
    process.kill(-victim, 'SIGKILL');
    const killed = Date.now();
    struck(killed);
    await waitFor(
      'the monitor started again',
      async () => isAlive(stack.processes.pidOf(MONITOR_PROCESS)) && stack.processes.pidOf(MONITOR_PROCESS) !== victim,
      {
        timeoutMs: 120_000,
      },
    );
    await stack.revive(MONITOR_PROCESS);
    return `the monitor serving again ${((Date.now() - killed) / 1000).toFixed(1)} s after the kill`;
  },
};

/** The replicated stack: the node that leads the KRaft quorum (the active controller) killed -9; another is elected. */
function activeControllerKilled(config: ReturnType<typeof loadStackConfig>): Fault {
  return {
    name: "kill -9 of the active Kafka controller's node, started again by npm start's supervisor",
    run: async (stack, shop, struck) => {
      const node = activeController(config, (name) => stack.processes.logFile(name));
      if (node === undefined) throw new Error('no node of the Kafka cluster logged that it leads the quorum');
      const seen = await killedAndStartedAgain(kafkaProcessName(config, node), `Kafka node ${node} (the active controller)`).run(
        stack,
        shop,
        struck,
      );
      return `${seen ?? ''}; the active controller now node ${activeController(config, (name) => stack.processes.logFile(name)) ?? '?'}`;
    },
  };
}

/** A stateful fault and the shards whose first commit after it tells that the shop has come back. */
interface StatefulFault {
  readonly fault: Fault;
  /** the shard the fault struck, or every order shard when it struck what every checkout passes (Kafka, the monitor) */
  readonly touches: readonly string[];
}

/**
 * A stateful fault as the availability issue measures it: struck 3 s into a seeded storm of keyed
 * writes that runs beside the checkouts (its ledger must match every balance exactly, whatever
 * its writes answered), then the time from the strike to the first checkout committed on the
 * shards it touches.
 */
function struckBesideKeyedStorm(config: ReturnType<typeof loadStackConfig>, seed: number, { fault, touches }: StatefulFault): Fault {
  return {
    name: `${fault.name}; a storm of keyed writes beside it (seed ${seed})`,
    run: async (stack, shop, struck) => {
      let struckAt = Number.NaN;
      let callsBegan = () => {};
      const stormCalling = new Promise<void>((resolve) => {
        callsBegan = resolve;
      });
      const strike = (async () => {
        // Once the storm's own items, users and orders exist: the fault lands among its writes.
        await stormCalling;
        await pause(3_000);
        struckAt = Date.now();
        return fault.run(stack, shop, (at) => {
          struckAt = at;
          struck(at);
        });
      })();
      const label = `keyed storm seed ${seed}`;
      const { report, beside: seen } = await stormBeside(config, shop, label, seed, strike, callsBegan);
      const live = await connectLiveShards(config);
      try {
        const firsts = await Promise.all(touches.map((shard) => firstCommitAfter(live, shard, struckAt)));
        const known = firsts.filter((first): first is number => first !== undefined);
        const first =
          known.length === 0
            ? `no checkout committed on ${touches.join(', ')} since`
            : `first checkout committed on ${touches.length === 1 ? touches[0] : 'an order shard'} ${((Math.min(...known) - struckAt) / 1000).toFixed(1)} s after it`;
        return `${seen ?? ''}; ${first}; ${label}: ${report.calls} calls, ${report.violations.length} violations`;
      } finally {
        await closeShards(live);
      }
    },
  };
}

/** Each fault of a lost stateful process: in the light stack a crash and a restart; in the replicated one a failover. */
function statefulFaults(config: ReturnType<typeof loadStackConfig>): StatefulFault[] {
  const orderShards = Array.from({ length: config.shards.order }, (_, index) => `order-${index}`);
  const kafkaNode: StatefulFault = {
    fault: killedAndStartedAgain(kafkaProcessName(config, 1), config.ha ? `Kafka node 1 of ${config.kafkaNodes}` : 'the Kafka broker'),
    touches: orderShards,
  };
  if (!config.ha) {
    return [{ fault: killedAndStartedAgain('postgres-order-0', 'the PostgreSQL server of order-0'), touches: ['order-0'] }, kafkaNode];
  }
  const shards = ['order-0', 'stock-0', 'payment-0'];
  return [
    ...shards.map((name) => ({ fault: primaryLost(config, name, false), touches: [name] })),
    ...shards.map((name) => ({ fault: primaryLost(config, name, true), touches: [name] })),
    { fault: monitorKilled, touches: orderShards },
    kafkaNode,
    { fault: activeControllerKilled(config), touches: orderShards },
  ];
}

function faults(config: ReturnType<typeof loadStackConfig>, checkoutTimeoutMs: number, seed: number): Fault[] {
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
        await stack.stopKafka();
        await pause(5_000);
        await stack.restartKafka();
      },
    },
    {
      name: 'PostgreSQL shard stock-0 restarted',
      run: (stack) => stack.restartDatabase('stock-0'),
    },
    {
      name: 'PostgreSQL shard order-0 restarted',
      run: (stack) => stack.restartDatabase('order-0'),
    },
    ...statefulFaults(config).map((stateful, index) => struckBesideKeyedStorm(config, seed + 4 + index, stateful)),
    {
      name: `npm run scale: ${config.instances} → 4 → 1 → ${config.instances} function instances`,
      run: async (stack) => {
        const steps: string[] = [];
        for (const count of [4, 1, config.instances]) {
          const started = Date.now();
          await stack.scale(count);
          steps.push(`${count} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
          await pause(5_000);
        }
        return `scaled to ${steps.join(', ')}`;
      },
    },
    shardAddedAndRemoved(config, 'payment'),
    shardAddedAndRemoved(config, 'order'),
    ...(['payment', 'stock', 'order'] as const).map((service, index) => stormBesideShardMoves(config, seed + index, service)),
    keyedStormThroughCrashes(config, seed + 3),
    {
      name: 'add_funds to the cap for 60 users, staggered, while checkouts hold their credit',
      run: (_stack, shop) => addFundsToTheCap(shop),
    },
    {
      name: 'batch_init of payment, stock and orders while checkouts of their rows are in flight',
      run: (_stack, shop) => batchInitUnderLoad(shop),
    },
    {
      name: `SIGSTOP of ${instanceName} for 20 s (past the Kafka session timeout), then SIGCONT`,
      run: async (stack) => {
        await stack.restartInstance(lastInstance);
        const pid = stack.processes.pidOf(instanceName)!;
        process.kill(-pid, 'SIGSTOP');
        await pause(20_000);
        process.kill(-pid, 'SIGCONT');
      },
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
      orders: { type: 'string', default: '500000' },
      settle: { type: 'string', default: '180' },
      only: { type: 'string', default: '' },
      seed: { type: 'string' },
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
  // Connected at the end: a fault adds and removes shards.
  let shards = new Map<string, postgres.Sql>();
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
          const sent = Date.now();
          try {
            const { status, body } = await client.checkout(orderId);
            const failed = status >= 500;
            outcomes.push({
              sent,
              at: Date.now(),
              status,
              reason: failed ? String(body.error ?? JSON.stringify(body)) : undefined,
              code: failed && typeof body.code === 'string' ? body.code : undefined,
            });
          } catch (error) {
            outcomes.push({ sent, at: Date.now(), status: 0, reason: String(error) });
          }
        }
      }),
    );
    const rateBetween = (from: number, to: number) =>
      outcomes.filter((o) => o.at >= from && o.at < to && o.status === 200).length / ((to - from) / 1000);

    await pause(10_000);
    const report: string[] = [];
    const seed = values.seed === undefined ? Math.floor(Math.random() * 1_000_000) : Number(values.seed);
    if (!Number.isSafeInteger(seed)) throw new Error(`--seed ${values.seed} is not a whole number`);
    console.log(`storm seed ${seed} (replay with --seed ${seed})`);
    const stormViolations: string[] = [];
    const chosen = faults(config, Number(process.env.SHOP_CHECKOUT_TIMEOUT_MS ?? 5_000), seed).filter((fault) =>
      fault.name.includes(values.only!),
    );
    if (chosen.length === 0) throw new Error(`no fault's name contains "${values.only}"`);
    for (const fault of chosen) {
      // Without orders left the load stops, and every later fault would look like an outage.
      if (nextOrder >= sizes.orders) {
        throw new Error(`the load checked out all ${sizes.orders} orders before "${fault.name}": run again with a larger --orders`);
      }
      const baseline = rateBetween(Date.now() - 5_000, Date.now());
      const started = Date.now();
      console.log(`fault: ${fault.name} (baseline ${baseline.toFixed(0)} committed/s)`);
      const seen = await fault.run(stack, { client, sizes, violations: stormViolations }, () => undefined);
      if (seen) console.log(`  ${seen}`);
      const ended = Date.now();
      let recovered = Number.NaN;
      for (let waited = 0; waited < 120_000; waited += 500) {
        await pause(500);
        if (rateBetween(Date.now() - 2_000, Date.now()) >= baseline / 2) {
          recovered = Date.now();
          break;
        }
      }
      const failures = outcomes.filter(
        (o) => o.at >= started && o.at <= (Number.isNaN(recovered) ? Date.now() : recovered) && (o.status === 0 || o.status >= 500),
      );
      const failed = failures.length;
      if (failed > 0) console.log(describeFailures(failures, started));
      const answered = (code: string) => failures.filter((o) => o.code === code).length;
      const kinds = `${answered('unavailable')} × 503 unavailable (nothing changed), ${answered('outcome_unknown')} × outcome_unknown, ${failed - answered('unavailable') - answered('outcome_unknown')} other`;
      const line = `${fault.name}: ${failed} checkouts failed (${kinds}; a checkout of the same order is safe to send again); throughput back to half its baseline ${Number.isNaN(recovered) ? 'NOT within 120 s' : `${((recovered - ended) / 1000).toFixed(1)} s after the fault ended`} (fault lasted ${((ended - started) / 1000).toFixed(1)} s)`;
      console.log(`  ${line}`);
      report.push(seen ? `${line}; ${seen}` : line);
      await pause(5_000);
    }
    loading = false;
    await load;

    console.log(`load stopped after ${outcomes.length} checkouts; waiting for every transaction to finish`);
    shards = await connectLiveShards(config);
    const unfinished = await waitUntilFinished(shards, whole('settle') * 1000);
    const violations = [
      ...stormViolations,
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
