import { DeleteSecretCommand, ResourceNotFoundException, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type postgres from 'postgres';
import { absorbCheckoutStats } from '../../layers/coordinator/checkout-stats';
import { readOwnedSlots } from '../../layers/db/owned-slots';
import { readMapCopy } from '../../layers/db/shard-map-copy';
import { readDatabaseSecret } from '../../layers/db/database-secret-store';
import { type DatabaseSecret, databaseSecretName } from '../../layers/db/secrets';
import { fillSlots, SLOTTED_SERVICES } from '../../layers/resharding/slot-adoption';
import { readPublishedSlotMap } from '../../layers/db/published-slot-maps';
import { type MoveContext, moveSlot, resumeMoves } from '../../layers/resharding/slot-move';
import {
  movesToDrain,
  movesToFill,
  newestMap,
  nextShard,
  type SlotMap,
  type SlotMove,
  slotsOwnedBy,
  withPending,
  withShardAdded,
  withShardRetired,
} from '../../layers/sharding/slots';
import { isUnavailable } from '../../layers/http/unavailable';
import { putSecret } from '../secrets/put-secret';
import type { Progress } from '../processes/progress';
import { MapPublisher } from './map-publisher';
import { MoverLeaseLostError, moverName, takeMoverLease } from './mover-lease';
import { connectWith, createShardDatabase, dropShardDatabase } from './shard-databases';
import type { ShardedService } from '../../layers/config/services';

/** A fenced slot waits this long for its reservations to be decided before the move leaves it for later. */
const DRAIN_LIMIT_MS = 500;
/** How long a move waits for its shards to answer again (a failover takes seconds) before it gives up. */
const RIDE_THROUGH_MS = 120_000;

/** A slot left for later is tried again this many times before the command gives up (and can be run again). */
const BUSY_ATTEMPTS = 20;
/** Functions may route by a map this old (layers/db/slot-map-cache.ts), so a retired shard's credentials stay this long. */
const MAP_MAX_AGE_MS = 10_000;

export interface MoveReport {
  readonly service: ShardedService;
  readonly shard: number;
  readonly moved: number;
  readonly longestPauseMs: number;
  readonly seconds: number;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * `npm run shards`: adds or removes a shard of a slotted service while the shop runs, moving one
 * slot at a time (`moveSlot`), and shows the maps. Whatever a crash interrupts, running the same
 * command again finishes: the map records the change pending, the shards the state of each slot.
 */
export class ShardsTool {
  private readonly publisher: MapPublisher;

  /**
   * @param prefix where the stage's secrets are (`<service>/<stage>`, SECRET_PREFIX of the functions)
   * @param secrets the local Secrets Manager, or AWS's
   */
  constructor(
    private readonly prefix: string,
    private readonly secrets: SecretsManagerClient,
    private readonly progress: Progress,
  ) {
    this.publisher = new MapPublisher(prefix, secrets, progress);
  }

  async status(): Promise<string> {
    const lines: string[] = [];
    for (const service of Object.keys(SLOTTED_SERVICES) as ShardedService[]) {
      const map = await this.map(service);
      const pools = await this.pools(service, map);
      try {
        lines.push(
          `${service}: map v${map.version}, ${map.slotCount} slots${map.pending ? `, ${map.pending.kind} of shard ${map.pending.shard} in progress` : ''}`,
        );
        for (const shard of map.shards) {
          const owned = await readOwnedSlots(pools.get(shard)!);
          const moving = [...owned].filter(([, slot]) => slot.state !== 'owned').map(([slot, { state }]) => `${slot} ${state}`);
          lines.push(
            `  ${service}-${shard}: ${slotsOwnedBy(map, shard).length} slots in the map, ${[...owned.values()].filter((slot) => slot.state === 'owned').length} owned${moving.length ? `; ${moving.join(', ')}` : ''}`,
          );
        }
        if (map.retired.length > 0) lines.push(`  retired: ${map.retired.map((shard) => `${service}-${shard}`).join(', ')}`);
      } finally {
        await endAll(pools);
      }
    }
    return lines.join('\n');
  }

  /** Creates a new shard of `service` (or finishes the one a crash left half-filled) and moves its fair share of slots to it. */
  add(service: ShardedService): Promise<MoveReport> {
    return this.leased(service, `add ${service}`, (lease) => this.addLeased(service, lease));
  }

  /** Moves every slot of a shard to the others, then retires it and drops its database. */
  remove(service: ShardedService, shard: number): Promise<MoveReport> {
    return this.leased(service, `remove ${service}-${shard}`, (lease) => this.removeLeased(service, shard, lease));
  }

  /**
   * Runs `work` holding the service's mover lease (`takeMoverLease`) on every shard of the
   * service: refused while another mover of the service runs. A shard being removed lets its
   * part go (`HeldLease.letGo`) only once it is retired, just before its database is dropped;
   * any other mover meets the lease on the shards that stay.
   */
  private async leased<T>(service: ShardedService, command: string, work: (lease: HeldLease) => Promise<T>): Promise<T> {
    for (let unreachableSince: number | undefined; ; ) {
      try {
        return await this.leasedOnce(service, command, work);
      } catch (error) {
        // A shard failing over (the replicated stack, RDS Multi-AZ) takes the lease's session on
        // it along: the lease is taken again once every shard answers, and the work resumes from
        // what the shards hold, as the same command run again would. Another mover that took the
        // lease meanwhile refuses it (MoverBusyError), which ends this one.
        unreachableSince ??= Date.now();
        const failingOver = error instanceof MoverLeaseLostError || isUnavailable(error);
        if (!failingOver || Date.now() - unreachableSince > RIDE_THROUGH_MS) throw error;
        this.progress.step(
          `${service}: ${error instanceof Error ? error.message.split(':')[0] : String(error)}; taking the lease again in 1 s`,
        );
        await sleep(1_000);
      }
    }
  }

  private async leasedOnce<T>(service: ShardedService, command: string, work: (lease: HeldLease) => Promise<T>): Promise<T> {
    const pools = await this.pools(service, await this.map(service));
    try {
      const lease = await takeMoverLease(service, pools, moverName(command));
      try {
        return await work({
          confirm: lease.confirm,
          letGo: async (shard) => {
            await lease.letGo(shard);
            const pool = pools.get(shard);
            pools.delete(shard);
            await pool?.end({ timeout: 1 });
          },
        });
      } finally {
        await lease.release();
      }
    } finally {
      await endAll(pools);
    }
  }

  private async addLeased(service: ShardedService, lease: HeldLease): Promise<MoveReport> {
    let map = await this.map(service);
    if (map.pending && map.pending.kind !== 'add')
      throw new Error(
        `${service}: removing shard ${map.pending.shard} is in progress; run npm run shards -- remove ${service}-${map.pending.shard} to finish it first`,
      );
    const shard = map.pending?.shard ?? nextShard(map);
    // Its server: that of the initial shard its number falls on (dealt round), or any live one.
    const host = map.shards.includes(shard % map.initialShards) ? shard % map.initialShards : map.shards.find((live) => live !== shard)!;
    this.progress.step(`${service}-${shard}: creating its database beside ${service}-${host}'s`);
    const secret = await createShardDatabase(await this.secret(databaseSecretName(this.prefix, service, host)), service, shard);
    await putSecret(this.secrets, databaseSecretName(this.prefix, service, shard), secret);
    if (!map.shards.includes(shard)) map = withPending(withShardAdded(map, shard), { kind: 'add', shard });
    return this.moveAll(
      service,
      map,
      shard,
      (current) => movesToFill(current, shard),
      (current) => withPending(current, undefined),
      lease,
    );
  }

  private async removeLeased(service: ShardedService, shard: number, lease: HeldLease): Promise<MoveReport> {
    let map = await this.map(service);
    if (map.pending && (map.pending.kind !== 'remove' || map.pending.shard !== shard)) {
      throw new Error(
        `${service}: ${map.pending.kind === 'add' ? 'adding' : 'removing'} shard ${map.pending.shard} is in progress; run that command again to finish it first`,
      );
    }
    // Retired already: a run cut short after the retirement only has the database and secret left to drop.
    const retired = map.retired.includes(shard);
    if (!retired && !map.shards.includes(shard)) throw new Error(`${service} has no shard ${shard} (shards: ${map.shards.join(', ')})`);
    let report: MoveReport = { service, shard, moved: 0, longestPauseMs: 0, seconds: 0 };
    if (!retired) {
      movesToDrain(map, shard);
      if (!map.pending) map = withPending(map, { kind: 'remove', shard });
      report = await this.moveAll(
        service,
        map,
        shard,
        (current) => movesToDrain(current, shard),
        (current) => withShardRetired(withPending(current, undefined), shard),
        lease,
      );
    }
    await lease.letGo(shard);
    this.progress.step(`${service}-${shard}: retired; its database goes once no function can still route by an older map`);
    await sleep(MAP_MAX_AGE_MS);
    const name = databaseSecretName(this.prefix, service, shard);
    const secret = await this.secret(name).catch((error: unknown) => {
      if (error instanceof ResourceNotFoundException) return undefined;
      throw error;
    });
    if (secret) await ownsNoSlot(`${service}-${shard}`, secret);
    if (secret && service === 'order') await this.absorbCheckoutStats(shard, secret);
    if (secret) await dropShardDatabase(secret);
    await this.secrets.send(new DeleteSecretCommand({ SecretId: name, ForceDeleteWithoutRecovery: true })).catch((error: unknown) => {
      if (!(error instanceof ResourceNotFoundException)) throw error;
    });
    return report;
  }

  private async moveAll(
    service: ShardedService,
    start: SlotMap,
    shard: number,
    plan: (map: SlotMap) => SlotMove[],
    finish: (map: SlotMap) => SlotMap,
    lease: HeldLease,
  ): Promise<MoveReport> {
    const began = Date.now();
    const pools = await this.pools(service, start);
    const context: MoveContext = {
      data: SLOTTED_SERVICES[service],
      shards: pools,
      // handOver saves each slot's map on every shard itself; this is the store's part, throttled.
      publish: (map) => this.publisher.publishToStore(service, map, { now: false }),
      drainLimitMs: DRAIN_LIMIT_MS,
      sleep,
      confirmLease: lease.confirm,
    };
    const stopPublishing = this.publisher.publishHeldBackWhileMoving(service);
    try {
      await this.publisher.publish(service, start, pools);
      // Rows an older release wrote without a slot (during a deploy) would stay behind on a move.
      await Promise.all(
        [...pools.values()].map((sql) => fillSlots(sql, { tables: SLOTTED_SERVICES[service].tables, slotCount: start.slotCount })),
      );
      const resumed = await resumeMoves(context, start);
      if (resumed.finished.length + resumed.undone.length > 0) {
        this.progress.step(
          `${service}: resumed an interrupted move (finished ${resumed.finished.length}, undone ${resumed.undone.length})`,
        );
      }
      const { map, moved, longestPauseMs } = await moveOneAtATime(context, resumed.map, plan(resumed.map), {
        service,
        shard,
        progress: this.progress,
      });
      await lease.confirm();
      await this.publisher.publish(service, finish(map), pools);
      return { service, shard, moved, longestPauseMs, seconds: (Date.now() - began) / 1000 };
    } finally {
      await stopPublishing();
      await endAll(pools);
    }
  }

  /** A retired order shard's checkout figures go to the first live order shard, so the live view keeps counting them. */
  private async absorbCheckoutStats(shard: number, secret: DatabaseSecret): Promise<void> {
    const live = (await this.map('order')).shards[0]!;
    const retired = connectWith(secret);
    const into = connectWith(await this.secret(databaseSecretName(this.prefix, 'order', live)));
    try {
      if (await absorbCheckoutStats(retired, into, shard))
        this.progress.step(`order-${shard}: its checkout figures added to order-${live}'s`);
    } finally {
      await Promise.all([retired.end({ timeout: 1 }), into.end({ timeout: 1 })]);
    }
  }

  /** The newest of the published map and the shards' own copies (a mover cut short may have left the store a few slots behind). */
  private async map(service: ShardedService): Promise<SlotMap> {
    const published = await readPublishedSlotMap(this.secrets, this.prefix, service);
    if (!published) throw new Error(`no slot map published for ${service}: is the stack running (npm start)?`);
    const pools = await this.pools(service, published);
    try {
      return newestMap(published, ...(await Promise.all([...pools.values()].map(readMapCopy))))!;
    } finally {
      await endAll(pools);
    }
  }

  private async pools(service: ShardedService, map: SlotMap): Promise<Map<number, postgres.Sql>> {
    const pools = new Map<number, postgres.Sql>();
    for (const shard of map.shards) {
      const secret = await this.secret(databaseSecretName(this.prefix, service, shard));
      pools.set(shard, connectWith(secret));
    }
    return pools;
  }

  private secret(name: string): Promise<DatabaseSecret> {
    return readDatabaseSecret(this.secrets, name);
  }
}

/**
 * Moves `moves` in order, one slot at a time, so that each pause of the shop is one slot's. A slot
 * that cannot move now (its reservations not decided within the drain limit) goes to the back of
 * the queue, so one busy slot does not hold the others up; after `BUSY_ATTEMPTS` the command
 * gives up, and running it again goes on from what the shards hold.
 */
async function moveOneAtATime(
  context: MoveContext,
  start: SlotMap,
  moves: SlotMove[],
  { service, shard, progress }: { readonly service: ShardedService; readonly shard: number; readonly progress: Progress },
): Promise<{ map: SlotMap; moved: number; longestPauseMs: number }> {
  let map = start;
  const attempts = new Map<number, number>();
  let moved = 0;
  let longestPauseMs = 0;
  progress.step(`${service}-${shard}: ${moves.length} slots to move, one at a time`);
  while (moves.length > 0) {
    const move = moves.shift()!;
    const result = await moveSlot(context, map, move);
    if (result.moved) {
      map = result.map;
      moved++;
      longestPauseMs = Math.max(longestPauseMs, result.pauseMs);
      if (moved % 32 === 0 || moves.length === 0) {
        progress.step(`${service}-${shard}: ${moved} slots moved, ${moves.length} to go (longest pause ${longestPauseMs} ms)`);
      }
      continue;
    }
    const tries = (attempts.get(move.slot) ?? 0) + 1;
    attempts.set(move.slot, tries);
    if (tries >= BUSY_ATTEMPTS)
      throw new Error(`${service}: gave up on slot ${move.slot}: ${result.reason}; run the command again to go on`);
    progress.step(`${service}: slot ${move.slot} left for later (${result.reason})`);
    moves.push(move);
  }
  return { map, moved, longestPauseMs };
}

/** The mover lease as the steps of a move see it: proven before each step, let go on a shard being retired. */
interface HeldLease {
  confirm(): Promise<void>;
  letGo(shard: number): Promise<void>;
}

const INVALID_CATALOG_NAME = '3D000';

/** A shard is dropped only when it owns, and is being given, no slot: whatever the map says, its own table has the last word. */
async function ownsNoSlot(name: string, secret: DatabaseSecret): Promise<void> {
  const sql = connectWith(secret);
  try {
    const [held] = await sql<{ slots: number }[]>`select count(*)::int as slots from owned_slots`.catch((error: unknown) => {
      // Dropped already by a run cut short before it deleted the secret.
      if ((error as { code?: string }).code === INVALID_CATALOG_NAME) return [{ slots: 0 }];
      throw error;
    });
    if (held!.slots > 0)
      throw new Error(
        `${name} still holds ${held!.slots} slots, so its database is kept; run npm run shards -- status, and this command again`,
      );
  } finally {
    await sql.end({ timeout: 1 });
  }
}

async function endAll(pools: ReadonlyMap<number, postgres.Sql>): Promise<void> {
  await Promise.all([...pools.values()].map((sql) => sql.end({ timeout: 1 })));
}
