import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { ensureTopics } from '../../layers/kafka/topic-setup';
import { kafkaNodePorts, type StackConfig, stackAddresses, TOPICS } from '../config';
import { type ProcessRegistry, run, waitFor } from '../processes/processes';
import type { Progress } from '../processes/progress';
import { everyNodeKnows } from './topics-known';

const KAFKA_DIR = __dirname;
const LIB_DIR = path.join(KAFKA_DIR, 'lib');

/** The process name of Kafka node `node`: plain `kafka` for the one node of the light stack. */
export function kafkaProcessName(config: Pick<StackConfig, 'kafkaNodes'>, node: number): string {
  return config.kafkaNodes === 1 ? 'kafka' : `kafka-${node}`;
}

/** Every Kafka node's process name. */
/**
 * The node that leads the KRaft quorum now (the active controller), read from the nodes' logs:
 * each logs its transitions (`QuorumState`, log4j.properties), and the leader of the highest epoch
 * is the current one. kafkajs cannot tell: in KRaft a broker names a random broker as controller.
 */
export function activeController(config: Pick<StackConfig, 'kafkaNodes'>, logFile: (name: string) => string): number | undefined {
  let latest: { node: number; epoch: number } | undefined;
  for (let node = 1; node <= config.kafkaNodes; node++) {
    let log: string;
    try {
      log = fs.readFileSync(logFile(kafkaProcessName(config, node)), 'utf8');
    } catch {
      continue;
    }
    // Only the node that became leader logs this transition, so the log's own node is the leader.
    for (const match of log.matchAll(/Completed transition to Leader\(.*?epoch=(\d+)/g)) {
      const epoch = Number(match[1]);
      if (!latest || epoch > latest.epoch) latest = { node, epoch };
    }
  }
  return latest?.node;
}

export function kafkaProcessNames(config: Pick<StackConfig, 'kafkaNodes'>): string[] {
  return Array.from({ length: config.kafkaNodes }, (_, index) => kafkaProcessName(config, index + 1));
}

/**
 * Apache Kafka in KRaft mode, each node broker and controller in one process (no ZooKeeper): one
 * node, or three in the replicated stack, where every topic has a replica on each node and a write
 * is acknowledged once two hold it (`min.insync.replicas`), so a node lost loses nothing
 * acknowledged and the other two go on.
 */
export class KafkaCluster {
  constructor(
    private readonly config: StackConfig,
    private readonly java: string,
    private readonly mvn: string,
    private readonly processes: ProcessRegistry,
    private readonly progress: Progress,
  ) {}

  get bootstrapServers(): string {
    return stackAddresses(this.config).kafkaBootstrap;
  }

  private get nodes(): number[] {
    return Array.from({ length: this.config.kafkaNodes }, (_, index) => index + 1);
  }

  private storageDir(node: number): string {
    return path.join(this.config.dataDir, node === 1 ? 'kafka' : `kafka-${node}`);
  }

  private propertiesFile(node: number): string {
    return path.join(this.config.runDir, 'kafka', node === 1 ? 'server.properties' : `server-${node}.properties`);
  }

  /** Maven puts the broker's jars in infra/kafka/lib the first time; later starts reuse them. */
  async fetchJars(): Promise<void> {
    if (fs.existsSync(path.join(LIB_DIR, '.complete'))) return;
    this.progress.step('kafka: fetching the broker jars with Maven (first start only)');
    fs.rmSync(LIB_DIR, { recursive: true, force: true });
    await run(this.mvn, ['-q', '-B', '-f', path.join(KAFKA_DIR, 'pom.xml'), 'dependency:copy-dependencies']);
    fs.writeFileSync(path.join(LIB_DIR, '.complete'), '');
  }

  /** Starts every node (a quorum needs its majority up before any serves), then makes the topics. */
  async start(): Promise<void> {
    await this.fetchJars();
    await this.formatStorage();
    this.progress.step(`kafka: starting ${this.config.kafkaNodes === 1 ? 'the broker' : `${this.config.kafkaNodes} nodes`}`);
    await Promise.all(this.nodes.map((node) => this.startNode(node)));
    await this.createTopics();
    this.progress.step(`kafka: up on ${this.bootstrapServers}`);
  }

  /** Starts one node again on its own storage (its log recovered), the others serving meanwhile. */
  async startAgain(processName: string): Promise<void> {
    const node = this.nodes.find((candidate) => kafkaProcessName(this.config, candidate) === processName);
    if (node === undefined) throw new Error(`no Kafka node ${processName} in this stack`);
    this.writeProperties(node);
    await this.startNode(node);
  }

  /** Every node's storage formatted with one cluster id, the first start only. */
  private async formatStorage(): Promise<void> {
    for (const node of this.nodes) this.writeProperties(node);
    const unformatted = this.nodes.filter((node) => !fs.existsSync(path.join(this.storageDir(node), 'meta.properties')));
    if (unformatted.length === 0) return;
    const formatted = this.nodes.find((node) => !unformatted.includes(node));
    const clusterId = formatted === undefined ? newClusterId() : this.clusterIdOf(formatted);
    this.progress.step(
      `kafka: formatting storage${this.config.kafkaNodes === 1 ? '' : ` of node${unformatted.length === 1 ? '' : 's'} ${unformatted.join(', ')}`}`,
    );
    await Promise.all(
      unformatted.map((node) =>
        run(this.java, [...this.jvmArgs(), 'kafka.tools.StorageTool', 'format', '-t', clusterId, '-c', this.propertiesFile(node)]),
      ),
    );
  }

  private clusterIdOf(node: number): string {
    const meta = fs.readFileSync(path.join(this.storageDir(node), 'meta.properties'), 'utf8');
    const id = /^cluster\.id=(.+)$/m.exec(meta)?.[1];
    if (!id) throw new Error(`${path.join(this.storageDir(node), 'meta.properties')} names no cluster.id`);
    return id.trim();
  }

  private async startNode(node: number): Promise<void> {
    const name = kafkaProcessName(this.config, node);
    const pid = this.processes.start(name, this.java, [
      '-Xms256m',
      '-Xmx1g',
      '-XX:+UseG1GC',
      // As many collector threads as cores, not the JVM's guess from a machine it shares.
      '-XX:ParallelGCThreads=2',
      '-XX:ConcGCThreads=1',
      ...this.jvmArgs(),
      'kafka.Kafka',
      this.propertiesFile(node),
    ]);
    const address = `127.0.0.1:${kafkaNodePorts(this.config, node).broker}`;
    await waitFor(name, () => this.answers(address), { pid, log: this.processes.logFile(name), timeoutMs: 90_000 });
  }

  private jvmArgs(): string[] {
    return [`-Dlog4j.configuration=file:${path.join(KAFKA_DIR, 'log4j.properties')}`, '-cp', `${LIB_DIR}/*`];
  }

  private writeProperties(node: number): void {
    const nodes = this.nodes;
    const replicas = String(nodes.length);
    // A write is acknowledged (acks=all) once this many replicas hold it: two of three, so one node lost loses nothing acknowledged.
    const inSync = String(Math.min(2, nodes.length));
    const { broker, controller } = kafkaNodePorts(this.config, node);
    const properties = {
      'process.roles': 'broker,controller',
      'node.id': String(node),
      'controller.quorum.voters': nodes.map((voter) => `${voter}@127.0.0.1:${kafkaNodePorts(this.config, voter).controller}`).join(','),
      listeners: `PLAINTEXT://127.0.0.1:${broker},CONTROLLER://127.0.0.1:${controller}`,
      'advertised.listeners': `PLAINTEXT://127.0.0.1:${broker}`,
      'controller.listener.names': 'CONTROLLER',
      'inter.broker.listener.name': 'PLAINTEXT',
      'listener.security.protocol.map': 'CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT',
      'log.dirs': this.storageDir(node),
      'num.partitions': String(this.config.kafkaPartitions),
      'auto.create.topics.enable': 'false',
      'default.replication.factor': replicas,
      'min.insync.replicas': inSync,
      // Never a replica that missed acknowledged writes as leader (the default, said here).
      'unclean.leader.election.enable': 'false',
      'offsets.topic.replication.factor': replicas,
      'offsets.topic.num.partitions': '8',
      'transaction.state.log.replication.factor': replicas,
      'transaction.state.log.min.isr': inSync,
      // A consumer group need not wait for more members before its first assignment.
      'group.initial.rebalance.delay.ms': '0',
      // A killed function instance's partitions wait out its session before anyone else takes
      // them; every checkout touching one waits that long too, so local consumers keep a session
      // shorter than the checkout wait, which the broker's 6 s floor would forbid.
      'group.min.session.timeout.ms': '1000',
      // A 2-core machine shared with everything else: Kafka's defaults (3 network and 8 request
      // threads) hand each of a quiet shop's one-message requests between more threads than there
      // are cores; fewer save CPU there (docs/performance.md, 'Levers').
      'num.network.threads': '1',
      'num.io.threads': '2',
      // A node's death is noticed when its session ends, 9 s by default: only then do its
      // partitions get new leaders, and a node restarted after a crash (kill -9) waits out its own
      // former registration before serving (docs/operations.md, 'A crashed server or broker').
      // Nodes on one machine, with no network between them, can be given 3 s.
      'broker.session.timeout.ms': '3000',
      'broker.heartbeat.interval.ms': '1000',
      // The active controller's node lost: the others notice when a fetch from it is overdue (2 s
      // by default) and a split vote is retried after up to 1 s; only then can the new controller
      // fence that node and move its partitions' leaders, and until then nearly every checkout
      // waits (docs/operations.md, the replicated stack). Halved, as for the sessions above.
      'controller.quorum.fetch.timeout.ms': '1000',
      'controller.quorum.election.timeout.ms': '500',
      'controller.quorum.election.backoff.max.ms': '500',
    };
    fs.mkdirSync(path.dirname(this.propertiesFile(node)), { recursive: true });
    fs.writeFileSync(
      this.propertiesFile(node),
      `${Object.entries(properties)
        .map(([key, value]) => `${key}=${value}`)
        .join('\n')}\n`,
    );
  }

  private admin(brokers = this.bootstrapServers.split(',')) {
    return new Kafka({ clientId: 'shop-stack', brokers, logLevel: logLevel.NOTHING, retry: { retries: 2 } }).admin();
  }

  /** Whether the node at `address` serves: it answers for the cluster, itself among its brokers. */
  private async answers(address: string): Promise<boolean> {
    const admin = this.admin([address]);
    try {
      await admin.connect();
      const { brokers } = await admin.describeCluster();
      return brokers.some((broker) => `${broker.host}:${broker.port}` === address);
    } finally {
      await admin.disconnect();
    }
  }

  /**
   * Every topic on every node, and known to every node. Tried again until it holds: a cluster just
   * formed may not have every broker registered yet (a replica per node needs them all), nor a
   * new topic's metadata on every node (kafkajs then reads "does not host this topic-partition").
   */
  private async createTopics(): Promise<void> {
    const admin = this.admin();
    try {
      await admin.connect();
      await waitFor(
        'kafka topics',
        async () => {
          const { brokers } = await admin.describeCluster();
          if (brokers.length < this.config.kafkaNodes) return false;
          await ensureTopics(admin, {
            topics: Object.values(TOPICS),
            partitions: this.config.kafkaPartitions,
            replicationFactor: this.config.kafkaNodes,
          });
          return everyNodeKnows(
            this.nodes.map((node) => `127.0.0.1:${kafkaNodePorts(this.config, node).broker}`),
            Object.values(TOPICS),
          );
        },
        { timeoutMs: 60_000 },
      );
    } finally {
      await admin.disconnect();
    }
  }
}

/** As Kafka's own Uuid.randomUuid does: an id starting with '-' would be read as an option (1 in 64). */
function newClusterId(): string {
  let clusterId: string;
  do clusterId = crypto.randomBytes(16).toString('base64url');
  while (clusterId.startsWith('-'));
  return clusterId;
}
