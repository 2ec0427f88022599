import type { DeployParameters } from './parameters';
import type { ShardedService } from '../../layers/config/services';

/**
 * Lambda runs as many containers of a function as requests ask for, and each container opens its
 * own connections: past a shard's `max_connections` new logins are refused and requests fail. So
 * the functions' concurrency is bounded, per shard, to what its connections allow:
 *
 *   containers touching a shard × connections per container ≤ max_connections − RESERVED
 *
 * The Kafka consumers are bounded by Lambda itself (one invocation per partition per event source
 * mapping); the scheduled functions and the live view get a small reserved concurrency; each
 * service's HTTP API gets what is left, as its reserved concurrency (which is also a ceiling).
 */

/** Connections a container opens per shard (serverless.yml `DB_POOL_MAX`, 2 on AWS). */
export const CONNECTIONS_PER_CONTAINER = 2;
/**
 * Kept free on every shard: the setup's migrations, an operator's psql, a rotation's login, and the
 * one more connection per shard a container opens while it runs a batch_init (its parts' own,
 * `layers/db/every-shard-or-none.ts`, closed 10 s after).
 */
export const RESERVED_CONNECTIONS = 10;
/** The scheduled functions (a run lasts up to a minute and may overlap the next) and the live view. */
const SMALL = 2;

export interface ConcurrencyBudget {
  /** Reserved concurrency per function key. */
  readonly reserved: Readonly<Record<string, number>>;
  /** Per database, the containers that may hold its connections at once, and how many it allows. */
  readonly perShard: Readonly<Record<ShardedService, { readonly containers: number; readonly allowed: number }>>;
}

export function concurrencyBudget(parameters: DeployParameters): ConcurrencyBudget {
  const allowed = Math.floor((parameters.databaseMaxConnections - RESERVED_CONNECTIONS) / CONNECTIONS_PER_CONTAINER);
  const partitions = parameters.kafkaPartitions;
  // What else may hold each database's connections: consumers (one invocation per partition per
  // mapping; the participants have two mappings, their topic and its retries), the scheduled
  // functions and the live view.
  const others = {
    order: partitions + SMALL /* resolver */ + SMALL /* ops */,
    stock: 2 * partitions + SMALL /* stockRetention */ + SMALL /* ops */,
    payment: 2 * partitions + SMALL /* paymentRetention */ + SMALL /* ops */,
  };
  const api = { order: allowed - others.order, stock: allowed - others.stock, payment: allowed - others.payment };
  for (const [database, left] of Object.entries(api)) {
    if (left < 1) {
      throw new Error(
        `parameter databaseMaxConnections=${parameters.databaseMaxConnections} leaves the ${database} API no connections: ` +
          `${RESERVED_CONNECTIONS} are kept free and ${others[database as keyof typeof others]} containers of its consumers, ` +
          `scheduled functions and live view may hold ${CONNECTIONS_PER_CONTAINER} each (kafkaPartitions=${partitions}); ` +
          'choose a larger database instance class or fewer partitions',
      );
    }
  }
  return {
    reserved: {
      orderApi: api.order,
      stockApi: api.stock,
      paymentApi: api.payment,
      resolver: SMALL,
      stockRetention: SMALL,
      paymentRetention: SMALL,
      ops: SMALL,
    },
    perShard: {
      order: { containers: others.order + api.order, allowed },
      stock: { containers: others.stock + api.stock, allowed },
      payment: { containers: others.payment + api.payment, allowed },
    },
  };
}
