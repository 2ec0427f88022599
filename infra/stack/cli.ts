import { loadStackConfig } from '../config';
import { isAlive } from '../processes/processes';
import { consoleProgress } from '../processes/progress';
import { Stack } from './stack';
import { supervise } from './supervisor';

const SUPERVISOR = 'supervisor';

const SETTINGS = `settings (environment variables, read by npm start):
  SHOP_INSTANCES            serverless-offline instances, 1-16 (2)
  SHOP_ORDER_SHARDS, SHOP_STOCK_SHARDS, SHOP_PAYMENT_SHARDS   shards per service at first start, 1-16 (2)
  SHOP_KAFKA_PARTITIONS     partitions per topic at first start (8)
  SHOP_KAFKA_WARMUP_S       seconds of load on a private topic before the gateway opens, 0-120 (10; 0 skips it)
  SHOP_CHECKOUT_TIMEOUT_MS  how long a checkout may stay undecided before it is aborted
  SHOP_LOG_RETENTION_S      how long finished 2PC log entries and participation records are kept
  SHOP_IDEMPOTENCY_RETENTION_S  how long a write's Idempotency-Key and reply are kept (86400, a day, at least)
  SHOP_DATA_DIR             where the databases and Kafka keep their data (.data)
  SHOP_GATEWAY_PORT         the API's port (8000); the other ports: README, "Components and ports"
  SHOP_DB_POOL_MAX          connections per shard of each function's pool (2, as on Lambda)
  SHOP_HA                   1: the replicated stack: three Kafka nodes (every topic on all three, a
                            write acknowledged once two hold it) and every PostgreSQL server a
                            primary with a synchronous standby, promoted by pg_auto_failover when
                            the primary is lost; its data in .data-ha (0)
  SHOP_POSTGRES_MONITOR_PORT  the replicated stack's pg_auto_failover monitor (24400)
  SHOP_OFFLINE_NODE_ARGS    extra Node.js options for the instances, e.g. "--cpu-prof --cpu-prof-dir=profiles"`;

const USAGE: Record<string, string> = {
  start: `npm start: starts PostgreSQL, Kafka, the local Secrets Manager, the function instances and the
gateway, and runs in the foreground until Ctrl-C or npm stop; the API is then at http://localhost:8000
(SHOP_GATEWAY_PORT).\n\n${SETTINGS}`,
  stop: 'npm stop: stops the stack npm start runs (asks it to stop, or stops its parts when it is gone), from any shell.',
  scale: "npm run scale -- N: the running stack's function instances, up or down to N (1-16), while it serves.",
  prepare:
    "tsx infra/stack/cli.ts prepare: installs what a first npm start needs (the tools, Kafka's jars, the Secrets Manager venv), starting nothing.",
};

/** `start` runs the stack in the foreground until Ctrl-C or `npm stop`; `stop` ends it from anywhere. */
async function main(command: string | undefined, options: readonly string[]): Promise<void> {
  if (options.includes('--help') || options.includes('-h')) {
    console.log(USAGE[command ?? ''] ?? Object.values(USAGE).join('\n\n'));
    return;
  }
  const stack = new Stack(loadStackConfig(), consoleProgress);
  switch (command) {
    case 'prepare':
      await stack.prepare();
      consoleProgress.step('prepared: tools, Kafka jars and the Secrets Manager venv are in place');
      return;
    case 'start':
      return runInForeground(stack);
    case 'stop':
      return stopFromOutside(stack);
    case 'scale':
      return scale(stack, process.argv[3]);
    default:
      throw new Error(`unknown command ${command ?? '(none)'}; use start, stop, scale N or prepare`);
  }
}

async function runInForeground(stack: Stack): Promise<void> {
  const url = await stack.start();
  stack.processes.remember(SUPERVISOR, process.pid);
  consoleProgress.step(`ready: the API is at ${url} (Ctrl-C or npm stop to end)`);
  let stopping = false;
  const endSupervision = supervise(stack, consoleProgress);
  const shutdown = async () => {
    if (stopping) return;
    stopping = true;
    await endSupervision();
    await stack.stop();
    stack.processes.forget(SUPERVISOR);
    consoleProgress.step('stopped');
    process.exit(0);
  };
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, () => void shutdown());
}

/** `npm run scale -- N`: the running stack's function instances, up or down, while it serves. */
async function scale(stack: Stack, argument: string | undefined): Promise<void> {
  const count = Number(argument);
  if (!argument || !/^\d+$/.test(argument) || count < 1 || count > 16) {
    throw new Error(
      `npm run scale -- N: N is the number of function instances, a whole number from 1 to 16${argument ? `, not ${argument}` : ''}`,
    );
  }
  const supervisor = stack.processes.pidOf(SUPERVISOR);
  if (supervisor === undefined || !isAlive(supervisor)) throw new Error('the stack is not running; npm start first');
  const started = Date.now();
  await stack.scale(count);
  consoleProgress.step(`scaled: ${count} function instance${count === 1 ? '' : 's'} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
}

/** Asks the foreground start to stop (it knows best); stops the parts itself when start is gone. */
async function stopFromOutside(stack: Stack): Promise<void> {
  const supervisor = stack.processes.pidOf(SUPERVISOR);
  if (supervisor !== undefined && isAlive(supervisor) && supervisor !== process.pid) {
    process.kill(supervisor, 'SIGTERM');
    while (isAlive(supervisor)) await new Promise((resolve) => setTimeout(resolve, 100));
  }
  stack.processes.forget(SUPERVISOR);
  await stack.stop();
  consoleProgress.step('stopped');
}

main(process.argv[2], process.argv.slice(3)).catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : String(error));
  process.exit(1);
});
