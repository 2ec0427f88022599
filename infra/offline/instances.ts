import path from 'node:path';
import { type StackConfig, stackAddresses } from '../config';
import { LOCAL_AWS_ENV } from '../secrets/local-secrets-manager';
import { type ProcessRegistry, portIsOpen, waitFor } from '../processes/processes';

const SERVERLESS_BIN = 'node_modules/serverless/bin/serverless.js';

/** The ports of one serverless-offline instance. */
export interface OfflineInstance {
  readonly index: number;
  readonly name: string;
  readonly httpPort: number;
  readonly lambdaPort: number;
  readonly websocketPort: number;
  readonly albPort: number;
}

export function offlineInstances(config: StackConfig): OfflineInstance[] {
  return Array.from({ length: config.instances }, (_, index) => ({
    index,
    name: `offline-${index}`,
    httpPort: config.ports.offlineHttpBase + index,
    lambdaPort: config.ports.offlineLambdaBase + index,
    // serverless-offline binds these only when a function has such events; distinct anyway.
    websocketPort: config.ports.offlineLambdaBase + 50 + index,
    albPort: config.ports.offlineHttpBase + 50 + index,
  }));
}

/** The environment every instance's functions see, as Lambda's configuration would give it. */
export function functionEnvironment(config: StackConfig): NodeJS.ProcessEnv {
  const addresses = stackAddresses(config);
  return {
    ...LOCAL_AWS_ENV,
    AWS_ENDPOINT_URL_SECRETS_MANAGER: addresses.secretsEndpoint,
    SHOP_ORDER_SHARDS: String(config.shards.order),
    SHOP_STOCK_SHARDS: String(config.shards.stock),
    SHOP_PAYMENT_SHARDS: String(config.shards.payment),
    SHOP_KAFKA_BROKERS: addresses.kafkaBootstrap,
    SHOP_GATEWAY_URL: addresses.gatewayUrl,
    SLS_TELEMETRY_DISABLED: '1',
    // serverless-offline logs two lines per invocation at 'notice'; at a thousand invocations a
    // second those synchronous writes cost the instances a tenth of their CPU.
    SLS_LOG_LEVEL: process.env.SLS_LOG_LEVEL ?? 'warning',
    SLS_NOTIFICATIONS_MODE: 'off',
  };
}

/**
 * Starts serverless-offline processes (all instances, or those given), each bundling into its
 * own esbuild folder, and waits until every one answers HTTP and Lambda invocations.
 */
export async function startOfflineInstances(
  config: StackConfig,
  processes: ProcessRegistry,
  onReady: (instance: OfflineInstance) => void,
  instances = offlineInstances(config),
): Promise<void> {
  const environment = functionEnvironment(config);
  await Promise.all(
    instances.map(async (instance) => {
      const pid = processes.start(
        instance.name,
        process.execPath,
        [
          // One process runs every function at dozens of invocations at once, and each allocates
          // its event, its records and its replies anew: with V8's default 16 MB semi-spaces the
          // young generation was collected very often (docs/performance.md, 'Levers').
          '--max-semi-space-size=64',
          // e.g. SHOP_OFFLINE_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/profiles" to profile the functions
          ...(process.env.SHOP_OFFLINE_NODE_ARGS ?? '').split(' ').filter(Boolean),
          path.join(config.root, SERVERLESS_BIN),
          'offline',
          'start',
          '--stage',
          config.stage,
          '--httpPort',
          String(instance.httpPort),
          '--lambdaPort',
          String(instance.lambdaPort),
          '--websocketPort',
          String(instance.websocketPort),
          '--albPort',
          String(instance.albPort),
        ],
        {
          cwd: config.root,
          env: {
            ...process.env,
            ...environment,
            SHOP_INSTANCE: instance.name,
            // The live view lists the instances from the stack's pid files.
            SHOP_RUN_PIDS_DIR: processes.pidDir,
            // The bench counts the event source's invocations per checkout from these files.
            OFFLINE_KAFKA_INVOCATION_COUNTS_DIR: processes.invocationCountsDir,
            SHOP_ESBUILD_WORK_FOLDER: `.esbuild/${instance.name}`,
          },
        },
      );
      await waitFor(
        `serverless-offline ${instance.name}`,
        async () => (await portIsOpen(instance.httpPort)) && portIsOpen(instance.lambdaPort),
        { pid, log: processes.logFile(instance.name), timeoutMs: 120_000 },
      );
      onReady(instance);
    }),
  );
}
