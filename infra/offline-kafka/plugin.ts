/**
 * Serverless Framework plugin (v3's plugin interface, which osls 4 keeps): gives serverless-offline the `kafka` and `msk` events it lacks.
 * Each enabled event gets a kafkajs consumer group member that invokes the function in this
 * process, through serverless-offline's own Lambda runner, with the event AWS would build.
 *
 * List it after serverless-offline in `plugins:`.
 */
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleepFor } from 'node:timers/promises';
import { FUNCTION_RESPONSE_TYPES, type ServiceLike, readKafkaEventSources, readSettings } from './config';
import { EventSourceConsumer } from './consumer';
import { type CountingInvoker, countInvocations } from './invocation-counts';
import { createInProcessInvoker, type InProcessInvoker, runnerOptions } from './invoker';
import { resolveLambdaEndpoint, waitUntilListening } from './lambda-endpoint';
import { type Logger, consoleLogger, describeError } from './logger';

/** The slice of the Serverless instance the plugin reads. */
export interface ServerlessLike {
  readonly service: ServiceLike & { readonly provider: { readonly stage?: string; readonly region?: string } };
  getProvider?(name: string): { getStage?(): string; getRegion?(): string } | undefined;
  readonly configSchemaHandler?: { defineFunctionEventProperties(provider: string, event: string, schema: object): void };
}

/**
 * What a `kafka` or `msk` event may say beyond the framework's own schema, named as the event
 * source mapping names it (`FunctionResponseTypes`): read here, and written into the mapping on
 * AWS by infra/deploy/deploy-plugin.ts.
 */
export const EVENT_PROPERTIES = {
  properties: {
    functionResponseTypes: { type: 'array', items: { enum: [...FUNCTION_RESPONSE_TYPES] }, uniqueItems: true },
  },
} as const;

/** The third constructor argument Serverless v3 passes to plugins. */
export interface PluginUtils {
  readonly log?: Logger;
}

/**
 * How long shutdown waits for in-flight invocations to finish and commit; longer than
 * serverless-offline's default 6 s Lambda timeout, short enough not to hang Ctrl+C.
 */
export const STOP_TIMEOUT_MS = 20_000;

/** The plugin class Serverless instantiates with `(serverless, cliOptions, utils)`. */
export class OfflineKafkaPlugin {
  /**
   * - `after:offline:start:init`: serverless-offline's `offline:start:init` hook (its `start()`)
   *   resolves only after the Lambda HTTP server listens; `after:` runs once every plugin's init
   *   hook finished, whatever the plugin order. (`offline:start:ready` would be too late: its
   *   serverless-offline hook blocks until SIGINT/SIGTERM.)
   * - `before:offline:start:end`: serverless-offline's `offline:start:end` hook stops the Lambda
   *   server and calls `process.exit`, so consumers stop before it, while invocations still work.
   * - `before:offline:start`: plain `serverless offline` runs everything inside one blocking
   *   `offline:start` hook, so consumers start in the background once the Lambda port answers,
   *   and stop on the signal (best effort: serverless-offline exits on its own schedule).
   */
  readonly hooks: Record<string, () => Promise<void>> = {
    'after:offline:start:init': () => this.startConsumers(),
    'before:offline:start:end': () => this.stopConsumers(),
    'before:offline:start': () => this.startWhenLambdaListens(),
  };

  private readonly log: Logger;
  private consumers: EventSourceConsumer[] = [];
  private invoker: InProcessInvoker | undefined;
  private counting: CountingInvoker | undefined;
  private readonly shutdown = new AbortController();
  private stopped: Promise<void> | undefined;

  constructor(
    private readonly serverless: ServerlessLike,
    private readonly cliOptions: Record<string, unknown> = {},
    utils: PluginUtils = {},
  ) {
    this.log = utils.log ?? consoleLogger;
    for (const event of ['kafka', 'msk']) serverless.configSchemaHandler?.defineFunctionEventProperties('aws', event, EVENT_PROPERTIES);
  }

  private stage(): string {
    const fromCli = this.cliOptions.stage;
    if (typeof fromCli === 'string' && fromCli !== '') return fromCli;
    return this.serverless.getProvider?.('aws')?.getStage?.() ?? this.serverless.service.provider.stage ?? 'dev';
  }

  private region(): string {
    const fromCli = this.cliOptions.region;
    if (typeof fromCli === 'string' && fromCli !== '') return fromCli;
    return this.serverless.getProvider?.('aws')?.getRegion?.() ?? this.serverless.service.provider.region ?? 'us-east-1';
  }

  /** Starts one consumer per enabled `kafka`/`msk` event. Never throws: a bad setup must not stop serverless-offline. */
  async startConsumers(): Promise<void> {
    if (this.consumers.length > 0 || this.shutdown.signal.aborted) return;
    try {
      const { service } = this.serverless;
      const { sources, problems } = readKafkaEventSources(service, { stage: this.stage(), region: this.region() });
      for (const problem of problems) this.log.warning(`offline-kafka: ${problem}`);
      if (sources.length === 0) {
        this.log.debug('offline-kafka: no enabled kafka or msk events');
        return;
      }
      const functionKeys = [...new Set(sources.map((source) => source.functionKey))];
      this.invoker = await createInProcessInvoker(this.serverless, runnerOptions(this.cliOptions, service.custom), functionKeys);
      if (this.shutdown.signal.aborted) return;
      const { partitionsConsumedConcurrently, activeMembersPerGroup } = readSettings(service.custom);
      // The stack names its instances; elsewhere each process counts as an instance of its own.
      const instance = process.env.SHOP_INSTANCE || `${os.hostname()}-${process.pid}`;
      // Set by the stack, so that a benchmark can count invocations per checkout.
      const countsDir = process.env.OFFLINE_KAFKA_INVOCATION_COUNTS_DIR;
      if (countsDir) this.counting = countInvocations(this.invoker.invoke, path.join(countsDir, `${instance}.json`));
      const invoke = this.counting?.invoke ?? this.invoker.invoke;
      this.consumers = sources.map(
        (source) =>
          new EventSourceConsumer(source, { invoke, log: this.log, partitionsConsumedConcurrently, activeMembersPerGroup, instance }),
      );
      for (const consumer of this.consumers) consumer.start();
    } catch (error) {
      this.log.error(`offline-kafka: not starting Kafka consumers: ${describeError(error)}`);
    }
  }

  /** Stops every consumer, letting in-flight batches finish and commit, for at most STOP_TIMEOUT_MS. */
  stopConsumers(): Promise<void> {
    this.stopped ??= (async () => {
      this.shutdown.abort();
      if (this.consumers.length === 0) {
        await this.invoker?.close();
        return;
      }
      const all = Promise.all(this.consumers.map((consumer) => consumer.stop())).then(() => true);
      const timedOut = sleepFor(STOP_TIMEOUT_MS, false, { ref: false });
      const finished = await Promise.race([all, timedOut]);
      this.counting?.flush();
      if (finished) {
        await this.invoker?.close();
        this.log.info('offline-kafka: consumers stopped');
      } else {
        this.log.warning(
          `offline-kafka: consumers still busy after ${STOP_TIMEOUT_MS / 1000} s; uncommitted batches will be delivered again next time`,
        );
      }
    })();
    return this.stopped;
  }

  /** For plain `serverless offline`, whose hooks give no moment between "listening" and "exiting". */
  async startWhenLambdaListens(): Promise<void> {
    let endpoint: ReturnType<typeof resolveLambdaEndpoint>;
    try {
      endpoint = resolveLambdaEndpoint(this.cliOptions, this.serverless.service.custom);
    } catch (error) {
      this.log.error(`offline-kafka: not starting Kafka consumers: ${describeError(error)}`);
      return;
    }
    const onSignal = () => void this.stopConsumers();
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    // Not awaited: serverless-offline's own hook, which opens the port, runs after this one returns.
    void waitUntilListening(endpoint, this.shutdown.signal).then((listening) => (listening ? this.startConsumers() : undefined));
  }
}

export default OfflineKafkaPlugin;
