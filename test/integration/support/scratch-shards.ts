import type postgres from 'postgres';
import { SLOTTED_SERVICES } from '../../../layers/resharding/slot-adoption';
import type { MoveContext } from '../../../layers/resharding/slot-move';
import { initialSlotMap, type SlotMap, withShardAdded } from '../../../layers/sharding/slots';
import { scratchDatabases } from './scratch-databases';
import type { ShardedService } from '../../../layers/config/services';

/** Two scratch shards of a service, a move's source (shard 0) and target (shard 2), and what was published. */
export interface ScratchShards {
  readonly source: postgres.Sql;
  readonly target: postgres.Sql;
  /** The maps the move published, in order; emptied by `reset`. */
  readonly published: SlotMap[];
  /** A map with shards 0, 1 and 2, slots where the initial map of two puts them. */
  readonly startMap: SlotMap;
  /** What a move on them needs; `overrides` stand in for what a test plays (another mover, a lost lease). */
  context(overrides?: Partial<MoveContext>): MoveContext;
  reset(): void;
}

/**
 * Two databases of `service`'s schema on the stack's `<service>-0` server, made before the file's
 * tests and dropped after them, standing for the source and the target of a slot's move.
 */
export function scratchShards(service: ShardedService): ScratchShards {
  const databases = scratchDatabases(service, ['move_source', 'move_target']);
  const published: SlotMap[] = [];

  const scratch: ScratchShards = {
    get source() {
      return databases()[0]!;
    },
    get target() {
      return databases()[1]!;
    },
    published,
    startMap: withShardAdded(initialSlotMap(2), 2),
    context: (overrides = {}) => ({
      data: SLOTTED_SERVICES[service],
      shards: new Map([
        [0, scratch.source],
        [2, scratch.target],
      ]),
      publish: async (map) => void published.push(map),
      drainLimitMs: 200,
      sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
      // The test is the only mover of these databases: its lease cannot be lost unless it says so.
      confirmLease: async () => undefined,
      ...overrides,
    }),
    reset: () => void published.splice(0),
  };
  return scratch;
}
