import fs from 'node:fs';
import path from 'node:path';
import { SHARDED_SERVICES, type ShardedService } from '../layers/config/services';
import { CHECKOUT_WAIT_MS, IDEMPOTENCY_RETENTION_S, LOG_RETENTION_S } from '../layers/config/bounds';
import { intEnv } from '../layers/config/env';

/**
 * Everything the local stack can be told, read once from the environment with defaults.
 * Ports default to high numbers that are unlikely to collide with anything else on a machine.
 */
export interface StackConfig {
  readonly root: string;
  /**
   * The replicated stack (`SHOP_HA=1`): three Kafka nodes, every topic on all three, a write
   * acknowledged once two hold it; every PostgreSQL server a primary and a synchronous standby that
   * pg_auto_failover promotes when the primary is lost. Its data lives apart (`.data-ha`), so
   * either stack keeps its own.
   */
  readonly ha: boolean;
  /** Kafka nodes, each broker and controller: 1, or 3 in the replicated stack. */
  readonly kafkaNodes: number;
  readonly dataDir: string;
  readonly runDir: string;
  readonly service: string;
  readonly stage: string;
  readonly shards: Readonly<Record<ShardedService, number>>;
  readonly instances: number;
  readonly kafkaPartitions: number;
  /** Seconds of produce and fetch on a private topic before the gateway opens (`infra/kafka/warm-up.ts`); 0 skips it. */
  readonly kafkaWarmUpS: number;
  /** Read by the functions from the same variables; checked here so that a bad one stops the start. */
  readonly checkoutTimeoutMs: number;
  readonly logRetentionS: number;
  readonly idempotencyRetentionS: number;
  readonly ports: {
    readonly gateway: number;
    readonly postgresBase: number;
    readonly postgresMonitor: number;
    readonly kafka: number;
    readonly kafkaController: number;
    readonly secrets: number;
    readonly offlineHttpBase: number;
    readonly offlineLambdaBase: number;
  };
}

export { TOPICS } from '../layers/kafka/topics';

/** Reads the stack's configuration; throws naming the variable when one is out of range. */
export function loadStackConfig(env = process.env): StackConfig {
  const root = path.resolve(__dirname, '..');
  const port = (name: string, fallback: number) => intEnv(name, fallback, 1024, 65535, env);
  const runDir = path.resolve(root, env.SHOP_RUN_DIR ?? '.run');
  // Unset, it is the running stack's (`npm start` records it): a tool (bench, chaos, a test) acts on the stack that runs.
  const ha = env.SHOP_HA === undefined ? runningStackIsReplicated(runDir) : intEnv('SHOP_HA', 0, 0, 1, env) === 1;
  return {
    root,
    ha,
    kafkaNodes: ha ? 3 : 1,
    dataDir: path.resolve(root, env.SHOP_DATA_DIR ?? (ha ? '.data-ha' : '.data')),
    runDir,
    service: 'shop',
    stage: 'local',
    shards: {
      order: intEnv('SHOP_ORDER_SHARDS', 2, 1, 16, env),
      stock: intEnv('SHOP_STOCK_SHARDS', 2, 1, 16, env),
      payment: intEnv('SHOP_PAYMENT_SHARDS', 2, 1, 16, env),
    },
    instances: intEnv('SHOP_INSTANCES', 2, 1, 16, env),
    kafkaPartitions: intEnv('SHOP_KAFKA_PARTITIONS', 8, 1, 256, env),
    kafkaWarmUpS: intEnv('SHOP_KAFKA_WARMUP_S', 10, 0, 120, env),
    checkoutTimeoutMs: intEnv('SHOP_CHECKOUT_TIMEOUT_MS', CHECKOUT_WAIT_MS.fallback, CHECKOUT_WAIT_MS.min, CHECKOUT_WAIT_MS.max, env),
    logRetentionS: intEnv('SHOP_LOG_RETENTION_S', LOG_RETENTION_S.fallback, LOG_RETENTION_S.min, LOG_RETENTION_S.max, env),
    idempotencyRetentionS: intEnv(
      'SHOP_IDEMPOTENCY_RETENTION_S',
      IDEMPOTENCY_RETENTION_S.fallback,
      IDEMPOTENCY_RETENTION_S.min,
      IDEMPOTENCY_RETENTION_S.max,
      env,
    ),
    ports: {
      // Every default is below 32768, out of Linux's range of ephemeral ports (32768–60999): a
      // server port in it can be held by any outgoing connection at the moment a process starts
      // (an instance restarted or added failed on EADDRINUSE, its port the local end of a
      // connection to PostgreSQL).
      gateway: port('SHOP_GATEWAY_PORT', 8000),
      postgresBase: port('SHOP_POSTGRES_PORT_BASE', 24410),
      // The replicated stack's pg_auto_failover monitor; each server's standby is STANDBY_PORT_OFFSET above it.
      postgresMonitor: port('SHOP_POSTGRES_MONITOR_PORT', 24400),
      // Node n (from 1) of the replicated stack listens 2(n-1) above each.
      kafka: port('SHOP_KAFKA_PORT', 29092),
      kafkaController: port('SHOP_KAFKA_CONTROLLER_PORT', 29093),
      secrets: port('SHOP_SECRETS_PORT', 25660),
      offlineHttpBase: port('SHOP_OFFLINE_HTTP_PORT_BASE', 23100),
      offlineLambdaBase: port('SHOP_OFFLINE_LAMBDA_PORT_BASE', 23200),
    },
  };
}

/** Where `npm start` records that the stack it runs is the replicated one, while it runs. */
export const replicatedMarker = (runDir: string) => path.join(runDir, 'replicated');

function runningStackIsReplicated(runDir: string): boolean {
  return fs.existsSync(replicatedMarker(runDir));
}

/** The ports of Kafka node `node` (1, 2, 3): each node two above the one before. */
export function kafkaNodePorts(config: Pick<StackConfig, 'ports'>, node: number): { broker: number; controller: number } {
  return { broker: config.ports.kafka + 2 * (node - 1), controller: config.ports.kafkaController + 2 * (node - 1) };
}

/** Where the stack's services answer, as clients (functions, tests, tools) reach them. */
export function stackAddresses(config: Pick<StackConfig, 'ports' | 'kafkaNodes'>) {
  return {
    /** Every Kafka node's broker, comma-separated, as KAFKA_BROKERS takes them. */
    kafkaBootstrap: Array.from({ length: config.kafkaNodes }, (_, index) => `127.0.0.1:${kafkaNodePorts(config, index + 1).broker}`).join(
      ',',
    ),
    secretsEndpoint: `http://127.0.0.1:${config.ports.secrets}`,
    gatewayUrl: `http://localhost:${config.ports.gateway}`,
  } as const;
}

/** One PostgreSQL server of the stack: a shard of a service, or the event-source probe's database. */
export interface DatabaseServer {
  readonly name: string;
  readonly service: ShardedService | 'probe';
  readonly shard: number;
  readonly port: number;
  /** Its PostgreSQL nodes' ports: the server's own, and in the replicated stack its standby's after it. */
  readonly nodePorts: readonly number[];
  readonly dbname: string;
}

/** How far above its server's port a standby listens in the replicated stack (at most 49 servers sit below it). */
export const STANDBY_PORT_OFFSET = 50;

/**
 * The databases, one PostgreSQL server each so that a shard fails and restarts on its own.
 * The probe database (for the event-source tests) shares no server: it is small and separate.
 */
export function databaseServers(config: StackConfig): DatabaseServer[] {
  const servers: DatabaseServer[] = [];
  for (const service of SHARDED_SERVICES) {
    for (let shard = 0; shard < config.shards[service]; shard++) {
      servers.push(server(`${service}-${shard}`, service, shard, `${service}_${shard}`));
    }
  }
  servers.push(server('probe', 'probe', 0, 'probe'));
  return servers;

  function server(name: string, service: DatabaseServer['service'], shard: number, dbname: string): DatabaseServer {
    const port = config.ports.postgresBase + servers.length;
    return { name, service, shard, port, nodePorts: config.ha ? [port, port + STANDBY_PORT_OFFSET] : [port], dbname };
  }
}
