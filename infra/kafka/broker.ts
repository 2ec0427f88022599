import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { ensureTopics } from '../../layers/kafka/topic-setup';
import { type StackConfig, stackAddresses, TOPICS } from '../config';
import { type ProcessRegistry, run, waitFor } from '../processes/processes';
import type { Progress } from '../processes/progress';

const KAFKA_DIR = __dirname;
const LIB_DIR = path.join(KAFKA_DIR, 'lib');
const PROCESS_NAME = 'kafka';

/** One Apache Kafka node in KRaft mode (broker and controller in one process, no ZooKeeper). */
export class KafkaBroker {
  private readonly storageDir: string;
  private readonly propertiesFile: string;

  constructor(
    private readonly config: StackConfig,
    private readonly java: string,
    private readonly mvn: string,
    private readonly processes: ProcessRegistry,
    private readonly progress: Progress,
  ) {
    this.storageDir = path.join(config.dataDir, 'kafka');
    this.propertiesFile = path.join(config.runDir, 'kafka', 'server.properties');
  }

  get bootstrapServers(): string {
    return stackAddresses(this.config).kafkaBootstrap;
  }

  /** Maven puts the broker's jars in infra/kafka/lib the first time; later starts reuse them. */
  async fetchJars(): Promise<void> {
    if (fs.existsSync(path.join(LIB_DIR, '.complete'))) return;
    this.progress.step('kafka: fetching the broker jars with Maven (first start only)');
    fs.rmSync(LIB_DIR, { recursive: true, force: true });
    await run(this.mvn, ['-q', '-B', '-f', path.join(KAFKA_DIR, 'pom.xml'), 'dependency:copy-dependencies']);
    fs.writeFileSync(path.join(LIB_DIR, '.complete'), '');
  }

  async start(): Promise<void> {
    await this.fetchJars();
    this.writeProperties();
    if (!fs.existsSync(path.join(this.storageDir, 'meta.properties'))) {
      this.progress.step('kafka: formatting storage');
      // As Kafka's own Uuid.randomUuid does: an id starting with '-' would be read as an option (1 in 64).
      let clusterId: string;
      do clusterId = crypto.randomBytes(16).toString('base64url');
      while (clusterId.startsWith('-'));
      await run(this.java, [...this.jvmArgs(), 'kafka.tools.StorageTool', 'format', '-t', clusterId, '-c', this.propertiesFile]);
    }
    this.progress.step('kafka: starting the broker');
    const pid = this.processes.start(PROCESS_NAME, this.java, [
      '-Xms256m',
      '-Xmx1g',
      '-XX:+UseG1GC',
      // As many collector threads as cores, not the JVM's guess from a machine it shares.
      '-XX:ParallelGCThreads=2',
      '-XX:ConcGCThreads=1',
      ...this.jvmArgs(),
      'kafka.Kafka',
      this.propertiesFile,
    ]);
    await waitFor('kafka', () => this.answers(), { pid, log: this.processes.logFile(PROCESS_NAME), timeoutMs: 90_000 });
    await this.createTopics();
    this.progress.step(`kafka: up on ${this.bootstrapServers}`);
  }

  private jvmArgs(): string[] {
    return [`-Dlog4j.configuration=file:${path.join(KAFKA_DIR, 'log4j.properties')}`, '-cp', `${LIB_DIR}/*`];
  }

  private writeProperties(): void {
    const { kafka, kafkaController } = this.config.ports;
    const properties = {
      'process.roles': 'broker,controller',
      'node.id': '1',
      'controller.quorum.voters': `1@127.0.0.1:${kafkaController}`,
      listeners: `PLAINTEXT://127.0.0.1:${kafka},CONTROLLER://127.0.0.1:${kafkaController}`,
      'advertised.listeners': `PLAINTEXT://127.0.0.1:${kafka}`,
      'controller.listener.names': 'CONTROLLER',
      'inter.broker.listener.name': 'PLAINTEXT',
      'listener.security.protocol.map': 'CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT',
      'log.dirs': this.storageDir,
      'num.partitions': String(this.config.kafkaPartitions),
      'auto.create.topics.enable': 'false',
      'offsets.topic.replication.factor': '1',
      'offsets.topic.num.partitions': '8',
      'transaction.state.log.replication.factor': '1',
      'transaction.state.log.min.isr': '1',
      // One node: a consumer group need not wait for more members before its first assignment.
      'group.initial.rebalance.delay.ms': '0',
      // A killed function instance's partitions wait out its session before anyone else takes
      // them; every checkout touching one waits that long too, so local consumers keep a session
      // shorter than the checkout wait, which the broker's 6 s floor would forbid.
      'group.min.session.timeout.ms': '1000',
      // One broker on a 2-core machine shared with everything else: Kafka's defaults (3 network
      // and 8 request threads) hand each of a quiet shop's one-message requests between more
      // threads than there are cores. At 50 checkouts/s the broker took 3.2-3.6 ms of CPU per
      // checkout instead of 3.8-4.0 (npm run bench -- --rate 50); at 64 in flight, no change.
      'num.network.threads': '1',
      'num.io.threads': '2',
      // Restarted after a crash (kill -9), the node waited out its own former registration's
      // session, 9 s by default, before serving: 14.7 s from death to serving again, 2.6 s of it
      // the JVM. One node with no network between its roles can notice a dead broker sooner.
      'broker.session.timeout.ms': '3000',
      'broker.heartbeat.interval.ms': '1000',
    };
    fs.mkdirSync(path.dirname(this.propertiesFile), { recursive: true });
    fs.writeFileSync(
      this.propertiesFile,
      `${Object.entries(properties)
        .map(([key, value]) => `${key}=${value}`)
        .join('\n')}\n`,
    );
  }

  private admin() {
    return new Kafka({
      clientId: 'shop-stack',
      brokers: [this.bootstrapServers],
      logLevel: logLevel.NOTHING,
      retry: { retries: 2 },
    }).admin();
  }

  private async answers(): Promise<boolean> {
    const admin = this.admin();
    try {
      await admin.connect();
      const { brokers } = await admin.describeCluster();
      return brokers.length > 0;
    } finally {
      await admin.disconnect();
    }
  }

  private async createTopics(): Promise<void> {
    const admin = this.admin();
    try {
      await admin.connect();
      await ensureTopics(admin, { topics: Object.values(TOPICS), partitions: this.config.kafkaPartitions, replicationFactor: 1 });
    } finally {
      await admin.disconnect();
    }
  }
}
