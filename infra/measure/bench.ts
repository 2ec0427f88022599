import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { ShopClient } from './client';
import { cpuMsBetween, readStackCpu } from './cpu';
import { countsPerCheckout, readCounts } from './counts';
import { latencyStages, type TimedCheckout } from './latency-stages';
import { loadStackConfig } from '../config';
import { ProcessRegistry } from '../processes/processes';
import { runCommand, wholeOption } from './run-command';
import { htmlReport } from './report-html';
import { summarise, Timeline } from './stats';

const USAGE = `npm run bench -- [options]
  --url URL            the gateway (default http://localhost:8000); another implementation of the
                       API is measured too (replies by status), without this stack's CPU and counts
  --items N            items "0"…"N-1" (default 100000)     --stock N   stock of each (default 1000000)
  --users N            users "0"…"N-1" (default 100000)     --credit N  credit of each (default 1000000)
  --orders N           orders "0"…"N-1" (default 100000)    --price N   item price (default 1)
  --concurrency N      closed loop: N checkouts in flight (default 64)
  --rate N             open loop instead: N checkouts started per second
  --duration S         seconds of load (default 30)
  --warmup S           seconds of the same load before, not counted (default 5)
  --idle S             first, seconds of no load: the stack's CPU at rest (default 5; 0: none)
  --no-populate        keep the items and users there (orders are always made anew, so every
                       checkout is of an unpaid order)
  --out DIR            where the JSON and HTML go (default bench-results)`;

function options() {
  const { values } = parseArgs({
    options: {
      url: { type: 'string', default: 'http://localhost:8000' },
      items: { type: 'string', default: '100000' },
      stock: { type: 'string', default: '1000000' },
      users: { type: 'string', default: '100000' },
      credit: { type: 'string', default: '1000000' },
      orders: { type: 'string', default: '100000' },
      price: { type: 'string', default: '1' },
      concurrency: { type: 'string', default: '64' },
      rate: { type: 'string' },
      duration: { type: 'string', default: '30' },
      warmup: { type: 'string', default: '5' },
      idle: { type: 'string', default: '5' },
      'no-populate': { type: 'boolean', default: false },
      out: { type: 'string', default: 'bench-results' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const whole = (name: keyof typeof values, min = 1) => wholeOption(values, name, min);
  return {
    url: values.url!,
    items: whole('items'),
    stock: whole('stock', 0),
    users: whole('users'),
    credit: whole('credit', 0),
    orders: whole('orders'),
    price: whole('price', 0),
    concurrency: whole('concurrency'),
    rate: values.rate === undefined ? undefined : whole('rate'),
    durationS: whole('duration'),
    warmupS: whole('warmup', 0),
    idleS: whole('idle', 0),
    populate: !values['no-populate'],
    out: path.resolve(values.out!),
  };
}

type Options = ReturnType<typeof options>;

async function populate(client: ShopClient, o: Options): Promise<void> {
  const started = performance.now();
  if (o.populate) {
    await client.expectOk('POST', `/stock/batch_init/${o.items}/${o.stock}/${o.price}`);
    await client.expectOk('POST', `/payment/batch_init/${o.users}/${o.credit}`);
  }
  await client.expectOk('POST', `/orders/batch_init/${o.orders}/${o.items}/${o.users}/${o.price}`);
  console.error(
    `populated ${o.items} items, ${o.users} users, ${o.orders} orders in ${((performance.now() - started) / 1000).toFixed(1)} s`,
  );
}

function progressLine(elapsedS: number, durationS: number, committed: number, total: number): string {
  const width = 30;
  const done = Math.min(width, Math.round((elapsedS / durationS) * width));
  const rate = elapsedS > 0 ? committed / elapsedS : 0;
  return `[${'#'.repeat(done)}${'.'.repeat(width - done)}] ${elapsedS.toFixed(0)}/${durationS} s  ${total} replies  ${committed} committed  ${rate.toFixed(0)} committed/s`;
}

async function main(): Promise<void> {
  const o = options();
  const client = new ShopClient(o.url, Math.max(o.concurrency, 256));
  await populate(client, o);

  // Every checkout takes the next unpaid order, so the headline counts fresh orders only.
  let nextOrder = 0;
  let exhausted = false;
  const config = loadStackConfig();
  const { runDir } = config;
  // CPU, counts and latency stages are read from this stack's processes and 2PC log.
  const thisStack = new URL(o.url).port === String(config.ports.gateway);

  /** Runs the load for `durationS`, handing every reply to `record`. */
  const runLoad = async (durationS: number, record: (checkout: TimedCheckout, status: string) => void) => {
    const deadline = performance.now() + durationS * 1000;
    const checkoutOnce = async () => {
      if (nextOrder >= o.orders) {
        exhausted = true;
        return;
      }
      const orderId = String(nextOrder++);
      const sentAt = Date.now();
      let status: string;
      try {
        status = String(await client.checkoutStatus(orderId));
      } catch (error) {
        status = `error:${(error as NodeJS.ErrnoException).code ?? 'unknown'}`;
      }
      record({ orderId, sentAt, repliedAt: Date.now() }, status);
    };
    if (o.rate === undefined) {
      await Promise.all(
        Array.from({ length: o.concurrency }, async () => {
          while (performance.now() < deadline && !exhausted) await checkoutOnce();
        }),
      );
    } else {
      const inFlight = new Set<Promise<void>>();
      const interval = 1000 / o.rate;
      const started = performance.now();
      for (let i = 0; !exhausted; i++) {
        const due = started + i * interval;
        if (due >= deadline) break;
        const wait = due - performance.now();
        if (wait > 1) await new Promise((resolve) => setTimeout(resolve, wait));
        const request = checkoutOnce().finally(() => inFlight.delete(request));
        inFlight.add(request);
      }
      await Promise.all(inFlight);
    }
  };

  const idleMsPerSecond = thisStack && o.idleS > 0 ? await stackCpuAtRest(runDir, o.idleS) : undefined;

  // A fresh process's code is not compiled yet and its pools are cold: that is not the steady state.
  if (o.warmupS > 0) {
    console.error(`warming up for ${o.warmupS} s (not counted)`);
    await runLoad(o.warmupS, () => undefined);
  }

  const startedAt = performance.now();
  const timeline = new Timeline(startedAt);
  const latencies: number[] = [];
  const statuses: Record<string, number> = {};
  const committedCheckouts: TimedCheckout[] = [];
  let committed = 0;
  const countsBefore = await readCounts(config, runDir);
  const stackCpuBefore = readStackCpu(runDir);
  const cpuBefore = process.cpuUsage();

  const tty = process.stderr.isTTY;
  let lastPrinted = 0;
  const ticker = setInterval(() => {
    const elapsed = (performance.now() - startedAt) / 1000;
    const line = progressLine(elapsed, o.durationS, committed, latencies.length);
    if (tty) process.stderr.write(`\r${line}`);
    else if (elapsed - lastPrinted >= 5) {
      lastPrinted = elapsed;
      process.stderr.write(`${line}\n`);
    }
  }, 250);

  await runLoad(o.durationS, (checkout, status) => {
    const latency = checkout.repliedAt - checkout.sentAt;
    const ok = status === '200';
    if (ok) {
      committed++;
      committedCheckouts.push(checkout);
    }
    latencies.push(latency);
    statuses[status] = (statuses[status] ?? 0) + 1;
    timeline.record(performance.now(), latency, status, ok);
  });
  clearInterval(ticker);
  if (tty) process.stderr.write('\n');

  const wallS = (performance.now() - startedAt) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  const cpuMs = cpuMsBetween(stackCpuBefore, readStackCpu(runDir), (cpu.user + cpu.system) / 1000);
  // Read once the last replies are in: the acknowledgements after them are counted too, in part.
  const counts = countsPerCheckout(countsBefore, await readCounts(config, runDir), committed);
  const perCheckout = (ms: number) => Number((committed > 0 ? ms / committed : Number.NaN).toFixed(2));
  const cpuMsPerCheckout = Object.fromEntries(Object.entries(cpuMs).map(([component, ms]) => [component, perCheckout(ms)]));
  const stackMs = Object.entries(cpuMs)
    .filter(([component]) => component !== 'other')
    .reduce((sum, [, ms]) => sum + ms, 0);
  const latency = summarise(latencies);
  const stages = thisStack ? await latencyStages(config, committedCheckouts) : undefined;
  // What the stack spends with no checkout at all (polls, heartbeats, the resolver's passes), shared out over the run's checkouts.
  const idleShare = idleMsPerSecond === undefined ? undefined : perCheckout(idleMsPerSecond * wallS);
  const result = {
    when: new Date().toISOString(),
    options: { ...o, out: undefined },
    wallSeconds: Number(wallS.toFixed(2)),
    committedPerSecond: Number((committed / wallS).toFixed(1)),
    requestsPerSecond: Number((latencies.length / wallS).toFixed(1)),
    committed,
    requests: latencies.length,
    ordersExhausted: exhausted,
    latencyMs: Object.fromEntries(Object.entries(latency).map(([key, value]) => [key, Number(value.toFixed(1))])),
    statuses,
    cpuMsPerCommittedCheckout: { all: perCheckout(stackMs), ...cpuMsPerCheckout },
    idleStackCpuMsPerSecond: idleMsPerSecond,
    idleShareOfCpuMsPerCheckout: idleShare,
    perCommittedCheckout: counts,
    latencyStagesMs: stages,
    generatorCpuPercentOfOneCore: Number((((cpu.user + cpu.system) / 1000 / (wallS * 1000)) * 100).toFixed(1)),
    seconds: timeline.seconds(),
  };
  await client.close();

  fs.mkdirSync(o.out, { recursive: true });
  const stamp = result.when.replace(/[:.]/g, '-');
  const jsonFile = path.join(o.out, `bench-${stamp}.json`);
  const htmlFile = path.join(o.out, `bench-${stamp}.html`);
  fs.writeFileSync(jsonFile, `${JSON.stringify(result, null, 2)}\n`);
  const mode = o.rate === undefined ? `closed loop, ${o.concurrency} in flight` : `open loop, ${o.rate}/s`;
  const summary = {
    stack: stackMode(),
    load: `${mode}, ${o.durationS} s`,
    'committed checkouts/s (fresh orders)': result.committedPerSecond,
    'all replies/s': result.requestsPerSecond,
    'latency p50 / p95 / p99 / max (ms)': `${result.latencyMs.p50} / ${result.latencyMs.p95} / ${result.latencyMs.p99} / ${result.latencyMs.max}`,
    'replies by status': Object.entries(statuses)
      .map(([status, count]) => `${status}: ${count}`)
      .join(', '),
    'load generator CPU (% of one core)': result.generatorCpuPercentOfOneCore,
    ...(thisStack
      ? {
          'CPU ms per committed checkout, all': `${perCheckout(stackMs)} (${Object.entries(cpuMsPerCheckout)
            .map(([component, ms]) => `${component} ${ms}`)
            .join(', ')})`,
          ...(idleMsPerSecond === undefined
            ? {}
            : { '  of which the stack at rest (ms/s)': `${idleShare} (at rest it spends ${idleMsPerSecond} ms of CPU a second)` }),
          'Kafka records per committed checkout': counts.kafkaRecords,
          'PostgreSQL write transactions per checkout': `${Object.values(counts.writeTransactions)
            .reduce((sum, value) => sum + value, 0)
            .toFixed(2)} (${Object.entries(counts.writeTransactions)
            .map(([service, count]) => `${service} ${count}`)
            .join(', ')})`,
          'invocations per committed checkout': `${perCheckout(latencies.length)} HTTP + ${counts.invocations.all} Kafka (${Object.entries(
            counts.invocations,
          )
            .filter(([name]) => name !== 'all')
            .map(([name, count]) => `${name} ${count}`)
            .join(', ')})`,
          'wake-ups per committed checkout': `${counts.wakeUps.all} (${Object.entries(counts.wakeUps)
            .filter(([component]) => component !== 'all')
            .map(([component, count]) => `${component} ${count}`)
            .join(', ')})`,
        }
      : { 'CPU and counts': `not measured: ${o.url} is not this stack's gateway` }),
    ...Object.fromEntries(
      Object.entries(stages ?? {}).map(([stage, { p50, p95, p99 }]) => [`  ${stage} p50 / p95 / p99 (ms)`, `${p50} / ${p95} / ${p99}`]),
    ),
    'orders ran out': exhausted ? 'yes: raise --orders or shorten --duration' : 'no',
  };
  fs.writeFileSync(htmlFile, htmlReport(`Checkout benchmark, ${result.when}`, summary, result.seconds, cpuMsPerCheckout));
  for (const [key, value] of Object.entries(summary)) console.log(`${key.padEnd(40)} ${value}`);
  console.log(`${'result'.padEnd(40)} ${jsonFile}\n${'report'.padEnd(40)} ${htmlFile}`);
}

/**
 * The stack's CPU in ms per second with no load, before any: after populating, once its held
 * messages have left (acknowledgements within 1 s). Maintenance the load sets off later
 * (autovacuum, checkpoints) is the load's, so it is not measured after the run.
 */
async function stackCpuAtRest(runDir: string, seconds: number): Promise<number> {
  await new Promise((resolve) => setTimeout(resolve, 3_000));
  const before = readStackCpu(runDir);
  await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
  const spent = cpuMsBetween(before, readStackCpu(runDir), 0);
  const stackMs = Object.entries(spent)
    .filter(([component]) => component !== 'other' && component !== 'load generator')
    .reduce((sum, [, ms]) => sum + ms, 0);
  return Math.round(stackMs / seconds);
}

/** Which stack the bench measured, read from what runs (the bench's own environment may differ from npm start's). */
function stackMode(): string {
  const kafkaNodes = new ProcessRegistry(loadStackConfig().runDir).running().filter((name) => /^kafka(-\d+)?$/.test(name)).length;
  return kafkaNodes > 1 ? `replicated (SHOP_HA=1): ${kafkaNodes} Kafka nodes` : 'light (the default): 1 Kafka node';
}

runCommand(async () => {
  await main();
  return 0;
});
