import postgres from 'postgres';
import { databaseServers } from '../../../infra/config';
import { MIGRATIONS_ROOT } from '../../../infra/postgres/migrations';
import { readCredentials } from '../../../infra/postgres/server';
import { migrate } from '../../../layers/db/migrate';
import { SLOTTED_SERVICES, type SlottedService } from '../../../layers/db/slot-adoption';
import type { MoveContext } from '../../../layers/db/slot-move';
import { initialSlotMap, type SlotMap, withShardAdded } from '../../../layers/sharding/slots';
import { stackConfig } from './stack';

/** Two scratch shards of a service, a move's source (shard 0) and target (shard 2), and what was published. */
export interface ScratchShards {
  readonly source: postgres.Sql;
  readonly target: postgres.Sql;
  /** The maps the move published, in order; emptied by `reset`. */
  readonly published: SlotMap[];
  /** A map with shards 0, 1 and 2, slots where the initial map of two puts them. */
  readonly startMap: SlotMap;
  context(): MoveContext;
  reset(): void;
}

/**
 * Two databases of `service`'s schema on the stack's `<service>-0` server, made before the file's
 * tests and dropped after them, standing for the source and the target of a slot's move.
 */
export function scratchShards(service: SlottedService): ScratchShards {
  const server = databaseServers(stackConfig).find((candidate) => candidate.name === `${service}-0`)!;
  const { host, port, username, password } = readCredentials(stackConfig.dataDir, server);
  const names = [`${service}_move_source_${process.pid}`, `${service}_move_target_${process.pid}`];
  const connect = (database: string) => postgres({ host, port, username, password, database, max: 2, onnotice: () => undefined });
  const admin = connect('postgres');
  let pair: [postgres.Sql, postgres.Sql] | undefined;
  const published: SlotMap[] = [];

  beforeAll(async () => {
    for (const name of names) await admin`create database ${admin(name)}`;
    pair = [connect(names[0]!), connect(names[1]!)];
    for (const sql of pair) await migrate(sql, MIGRATIONS_ROOT, service);
  });
  afterAll(async () => {
    await Promise.all((pair ?? []).map((sql) => sql.end()));
    for (const name of names) await admin`drop database if exists ${admin(name)} with (force)`;
    await admin.end();
  });

  const scratch: ScratchShards = {
    get source() {
      return pair![0];
    },
    get target() {
      return pair![1];
    },
    published,
    startMap: withShardAdded(initialSlotMap(2), 2),
    context: () => ({
      data: SLOTTED_SERVICES[service],
      shards: new Map([
        [0, scratch.source],
        [2, scratch.target],
      ]),
      publish: async (map) => void published.push(map),
      drainLimitMs: 200,
      sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
    }),
    reset: () => void published.splice(0),
  };
  return scratch;
}
