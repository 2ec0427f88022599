import fs from 'node:fs';
import { type StackConfig, databaseServers, replicatedMarker } from '../config';
import { databaseSecretName } from '../../layers/db/secrets';
import { Gateway, MAX_INSTANCES } from '../gateway/nginx';
import { KafkaCluster, kafkaProcessNames } from '../kafka/broker';
import { WARM_UP_TOPIC, warmBroker } from '../kafka/warm-up';
import { offlineInstances, startOfflineInstances } from '../offline/instances';
import { migrate } from '../../layers/db/migrate';
import { MIGRATIONS_ROOT } from '../postgres/migrations';
import { databaseProcessNames, StackDatabases } from '../postgres/stack-databases';
import { connectAdmin } from '../postgres/server';
import { postgresProcessName } from '../postgres/process-names';
import { LocalSecretsManager } from '../secrets/local-secrets-manager';
import { ensureToolchain, type Toolchain } from './prerequisites';
import { clearRestartLocks, exclusively } from './restart-lock';
import { ensureSlotMaps } from './slot-maps-at-start';
import { forgetInstanceCount, liveConfig, writeInstanceCount } from './instance-count';
import { isAlive, ProcessRegistry, sleep } from '../processes/processes';
import type { Progress } from '../processes/progress';

/**
 * How each kind of process is stopped, in order: the gateway first so no new request arrives,
 * the databases last so every function can finish what it started. Each signal is the one that
 * makes that program shut down cleanly (NGINX: finish requests; PostgreSQL: fast shutdown;
 * serverless-offline: its SIGINT handler, which also commits the Kafka consumers' offsets).
 */
const SHUTDOWN_ORDER: readonly { what: string; names: RegExp; signal: NodeJS.Signals; graceMs: number }[] = [
  { what: 'gateway', names: /^nginx$/, signal: 'SIGQUIT', graceMs: 10_000 },
  { what: 'functions', names: /^offline-/, signal: 'SIGINT', graceMs: 15_000 },
  { what: 'kafka', names: /^kafka(-\d+)?$/, signal: 'SIGTERM', graceMs: 30_000 },
  { what: 'secrets', names: /^secrets-manager$/, signal: 'SIGTERM', graceMs: 10_000 },
  { what: 'postgres', names: /^postgres-(?!monitor$)/, signal: 'SIGINT', graceMs: 30_000 },
  // Last: while a node stops, its keeper still reports to the monitor.
  { what: 'failover monitor', names: /^postgres-monitor$/, signal: 'SIGINT', graceMs: 30_000 },
];

/**
 * Waits for every step, even after one failed, so that nothing is still starting while the
 * failure is being cleaned up; then rethrows the first failure.
 */
async function settleAll(steps: readonly Promise<unknown>[]): Promise<void> {
  const failed = (await Promise.allSettled(steps)).find((result) => result.status === 'rejected');
  if (failed) throw failed.reason;
}

/** Every component of the local stack, built from one configuration. */
export class Stack {
  readonly processes: ProcessRegistry;

  constructor(
    readonly config: StackConfig,
    private readonly progress: Progress,
  ) {
    this.processes = new ProcessRegistry(config.runDir);
  }

  /** Installs what a first start needs (tools, Kafka's jars, the venv), starting nothing. */
  async prepare(): Promise<Toolchain> {
    const tools = await ensureToolchain(this.progress, { replicated: this.config.ha });
    await Promise.all([this.kafka(tools).fetchJars(), this.secrets(tools).install()]);
    return tools;
  }

  /** Starts everything in order; on any failure stops what it started and rethrows. */
  async start(): Promise<string> {
    const running = this.processes.running();
    if (running.length > 0) {
      throw new Error(`the stack is already running (${running.join(', ')}); run npm stop first`);
    }
    try {
      if (this.config.ha) fs.writeFileSync(replicatedMarker(this.config.runDir), '1\n');
      else fs.rmSync(replicatedMarker(this.config.runDir), { force: true });
      const tools = await this.prepare();
      const kafka = this.kafka(tools);
      const secrets = this.secrets(tools);
      const secretsUp = this.startSecrets(secrets);
      await settleAll([this.startDatabases(tools, secrets, secretsUp), kafka.start(), secretsUp]);
      await this.startFunctions(secrets);
      // Not while the functions start: on 2 cores each slowed the other, and the broker was
      // warmed by a third of the requests (docs/performance.md, 'Levers').
      await this.warmKafka(kafka);
      const gateway = new Gateway(this.config, tools.nginx, this.processes);
      await gateway.start();
      this.progress.step(`gateway: nginx up on ${gateway.url}`);
      return gateway.url;
    } catch (error) {
      this.progress.step('start failed; stopping what was started');
      await this.stop();
      throw error;
    }
  }

  private async startFunctions(secrets: LocalSecretsManager): Promise<void> {
    await ensureSlotMaps(this.config, secrets.endpoint, this.progress);
    this.progress.step(`functions: starting ${this.config.instances} serverless-offline instances`);
    writeInstanceCount(this.config, this.config.instances);
    clearRestartLocks(this.processes.pidDir);
    let ready = 0;
    await startOfflineInstances(this.config, this.processes, (instance) =>
      this.progress.step(
        `functions: instance ${++ready}/${this.config.instances} up (http ${instance.httpPort}, lambda ${instance.lambdaPort})`,
      ),
    );
  }

  /** Optional: a broker that fails the warm-up still serves the shop, only colder at first. */
  private async warmKafka(kafka: KafkaCluster): Promise<void> {
    const seconds = this.config.kafkaWarmUpS;
    if (seconds === 0) return;
    this.progress.step(`kafka: warming the broker for ${seconds} s on a private topic (SHOP_KAFKA_WARMUP_S)`);
    try {
      const { produced, consumed } = await warmBroker(kafka.bootstrapServers, {
        durationMs: seconds * 1000,
        partitions: this.config.kafkaPartitions,
      });
      this.progress.step(`kafka: warm, ${produced} messages produced and ${consumed} consumed; topic ${WARM_UP_TOPIC} deleted`);
    } catch (error) {
      this.progress.step(`kafka: warm-up failed, going on without it (${error instanceof Error ? error.message : String(error)})`);
    }
  }

  /** Stops every component this stack's pid files name, gateway first, databases last. */
  async stop(): Promise<void> {
    for (const { what, names, signal, graceMs } of SHUTDOWN_ORDER) {
      const matching = this.processes.running().filter((name) => names.test(name));
      if (matching.length === 0) continue;
      this.progress.step(`${what}: stopping`);
      await Promise.all(matching.map((name) => this.processes.stop(name, signal, graceMs)));
    }
    forgetInstanceCount(this.config);
    fs.rmSync(replicatedMarker(this.config.runDir), { force: true });
  }

  /**
   * Sets the number of serverless-offline instances of the running stack, while it serves. The
   * gateway lists every instance the stack may have (infra/gateway/nginx.ts), so it is never
   * reloaded. Up: the new instances start, join every consumer group as standby members, and the
   * gateway finds them at its next try of their slots. Down: each instance left out is drained
   * (SIGUSR2, patches/serverless-offline): it stops accepting connections (the gateway passes
   * new requests on), answers on the ones it has until the gateway closes them, then shuts down
   * as on SIGINT: its Kafka batches finish, their offsets are committed, its consumers leave their
   * groups. The supervisor replaces dead instances up to the new count only.
   */
  async scale(count: number): Promise<void> {
    if (!Number.isInteger(count) || count < 1 || count > MAX_INSTANCES) {
      throw new Error(`instances must be a whole number from 1 to ${MAX_INSTANCES}, not ${count}`);
    }
    const before = liveConfig(this.config);
    if (count === before.instances) {
      this.progress.step(`functions: already ${count} instance${count === 1 ? '' : 's'}`);
      return;
    }
    writeInstanceCount(this.config, count);
    if (count > before.instances) {
      const added = offlineInstances({ ...before, instances: count }).slice(before.instances);
      this.progress.step(`functions: starting ${added.map((instance) => instance.name).join(', ')}`);
      await Promise.all(added.map((instance) => this.restartInstance(instance.index)));
      return;
    }
    await Promise.all(
      offlineInstances(before)
        .slice(count)
        .map(async (instance) => {
          this.progress.step(`functions: draining ${instance.name} (requests answered, Kafka batches finished and committed, groups left)`);
          // SIGUSR2 to the instance itself (its group holds esbuild's service too): the drain
          // patched into serverless-offline, which ends in its own SIGINT shutdown.
          const pid = this.processes.pidOf(instance.name);
          if (pid !== undefined && isAlive(pid)) {
            process.kill(pid, 'SIGUSR2');
            const deadline = Date.now() + 60_000;
            while (isAlive(pid) && Date.now() < deadline) await sleep(100);
          }
          await this.processes.stop(instance.name, 'SIGINT', 15_000);
          this.progress.step(`functions: ${instance.name} stopped`);
        }),
    );
  }

  /**
   * Starts a serverless-offline instance that has died, as Lambda replaces a crashed container.
   * Whoever calls first (the supervisor, a test, the chaos command) does it, and a live instance
   * is left alone (`exclusively`).
   */
  async restartInstance(index: number): Promise<void> {
    const config = liveConfig(this.config);
    const instance = offlineInstances(config)[index];
    if (!instance) throw new Error(`no instance ${index}; the stack has ${config.instances}`);
    await exclusively(this.processes.pidDir, instance.name, async () => {
      if (isAlive(this.processes.pidOf(instance.name))) return;
      await startOfflineInstances(config, this.processes, () => this.progress.step(`functions: ${instance.name} up`), [instance]);
    });
  }

  /** The indexes of serverless-offline instances whose process has died. */
  deadInstances(): number[] {
    return offlineInstances(liveConfig(this.config))
      .filter((instance) => !isAlive(this.processes.pidOf(instance.name)))
      .map((instance) => instance.index);
  }

  /**
   * The PostgreSQL servers and the Kafka broker that crashed: their pid file is there and their
   * process is gone. One stopped on purpose has no pid file (`ProcessRegistry.stop`).
   */
  crashedStateful(): string[] {
    return [...databaseProcessNames(this.config), ...kafkaProcessNames(this.config)].filter(
      (name) => this.processes.pidOf(name) !== undefined && !isAlive(this.processes.pidOf(name)),
    );
  }

  /**
   * Starts a crashed PostgreSQL server or Kafka broker again on its own storage, as RDS and MSK
   * restart a failed node: PostgreSQL replays its WAL, Kafka recovers its log, and every client
   * reconnects. Left alone if it runs again by then, or was stopped on purpose meanwhile.
   */
  async revive(name: string): Promise<void> {
    await exclusively(this.processes.pidDir, name, async () => {
      const pid = this.processes.pidOf(name);
      if (pid === undefined || isAlive(pid)) return;
      const tools = await ensureToolchain(this.progress, { replicated: this.config.ha });
      if (kafkaProcessNames(this.config).includes(name)) return this.kafka(tools).startAgain(name);
      await new StackDatabases(this.config, tools, this.processes).revive(name);
    });
  }

  /** Stops every Kafka node (controlled shutdown); nothing starts them again until `restartKafka`. */
  async stopKafka(): Promise<void> {
    await Promise.all(kafkaProcessNames(this.config).map((name) => this.processes.stop(name, 'SIGTERM', 30_000)));
  }

  /** Stops every Kafka node (controlled shutdown) and starts them again on the same storage. */
  async restartKafka(): Promise<void> {
    await exclusively(this.processes.pidDir, 'kafka-cluster', async () => {
      const tools = await ensureToolchain(this.progress);
      await this.stopKafka();
      await this.kafka(tools).start();
    });
  }

  /**
   * Stops one database server (fast shutdown: open sessions are cut) and starts it again; in the
   * replicated stack, its primary's node (`StackDatabases.restart`).
   */
  async restartDatabase(name: string): Promise<void> {
    const databases = await this.databases();
    await exclusively(this.processes.pidDir, postgresProcessName(name), () => databases.restart(name));
  }

  /** The stack's PostgreSQL, light or replicated, to act on. */
  async databases(): Promise<StackDatabases> {
    return new StackDatabases(this.config, await ensureToolchain(this.progress, { replicated: this.config.ha }), this.processes);
  }

  private kafka(tools: Toolchain): KafkaCluster {
    return new KafkaCluster(this.config, tools.java, tools.mvn, this.processes, this.progress);
  }

  private secrets(tools: Toolchain): LocalSecretsManager {
    return new LocalSecretsManager(this.config, tools.python, this.processes, this.progress);
  }

  private async startSecrets(secrets: LocalSecretsManager): Promise<void> {
    await secrets.start();
    this.progress.step(`secrets: Secrets Manager (moto) up on ${secrets.endpoint}`);
  }

  /** Every database server, migrated, with its credentials stored as a secret once moto is up. */
  private async startDatabases(tools: Toolchain, secrets: LocalSecretsManager, secretsUp: Promise<void>): Promise<void> {
    const databases = new StackDatabases(this.config, tools, this.processes);
    await databases.startMonitor(this.progress);
    await settleAll(
      databaseServers(this.config).map(async (server) => {
        const credentials = await databases.start(server, this.progress);
        const sql = connectAdmin(this.config.dataDir, server);
        try {
          const applied = await migrate(sql, MIGRATIONS_ROOT, server.service);
          if (applied.length > 0) this.progress.step(`postgres: ${server.name} migrated (${applied.join(', ')})`);
        } finally {
          await sql.end({ timeout: 1 });
        }
        await secretsUp;
        await secrets.putSecret(
          databaseSecretName(`${this.config.service}/${this.config.stage}`, server.service, server.shard),
          credentials,
        );
        const total = server.service === 'probe' ? 1 : this.config.shards[server.service];
        const label = server.service === 'probe' ? 'probe database' : `${server.service} shard ${server.shard + 1}/${total}`;
        const where = this.config.ha ? `ports ${server.nodePorts.join(' and ')} (primary and synchronous standby)` : `port ${server.port}`;
        this.progress.step(`postgres: ${label} up on ${where}`);
      }),
    );
  }
}
