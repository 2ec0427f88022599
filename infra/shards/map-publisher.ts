import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type postgres from 'postgres';
import type { ShardedService } from '../../layers/config/services';
import { publishSlotMap } from '../../layers/db/published-slot-maps';
import { saveMapCopies } from '../../layers/db/shard-map-copy';
import type { SlotMap } from '../../layers/sharding/slots';
import type { Progress } from '../processes/progress';

/**
 * A moving service's map is published to Secrets Manager at most this often (and at the start and
 * end of a command): Secrets Manager keeps every version for a day and refuses a secret with too
 * many, and a shard added moves ~341 slots. Every slot's new map goes to the shards' own copies at
 * once; a function that a shard refuses reads them (layers/db/middleware.ts), and the coordinator,
 * which routes prepares by the stock and payment maps in the store, starts a checkout over for
 * longer than this.
 */
export const PUBLISH_EVERY_MS = 2_000;

/**
 * Where a mover's maps go, and when: to the shards' copies at once, to Secrets Manager throttled
 * (`PUBLISH_EVERY_MS`), with the map held back meanwhile remembered, so that no move stays
 * unpublished once the mover pauses, gives up or fails.
 */
export class MapPublisher {
  private readonly publishedAt = new Map<ShardedService, number>();
  private readonly heldBack = new Map<ShardedService, SlotMap>();

  /**
   * @param prefix where the stage's secrets are (`<service>/<stage>`, SECRET_PREFIX of the functions)
   * @param secrets the local Secrets Manager, or AWS's
   */
  constructor(
    private readonly prefix: string,
    private readonly secrets: SecretsManagerClient,
    private readonly progress: Progress,
  ) {}

  /**
   * Every shard keeps a copy of the map (so a restart of the local Secrets Manager loses nothing,
   * and functions refused by a shard find the newest there), and Secrets Manager gets it.
   */
  async publish(service: ShardedService, map: SlotMap, pools: ReadonlyMap<number, postgres.Sql>): Promise<void> {
    await saveMapCopies(pools.values(), map);
    await this.publishToStore(service, map, { now: true });
  }

  /**
   * Secrets Manager gets the map `now`, or when it last got one `PUBLISH_EVERY_MS` ago; a map held
   * back is kept for `publishHeldBack`, so that no move stays unpublished once the mover pauses,
   * gives up or fails.
   */
  async publishToStore(service: ShardedService, map: SlotMap, { now }: { now: boolean }): Promise<void> {
    if (!now && Date.now() - (this.publishedAt.get(service) ?? 0) < PUBLISH_EVERY_MS) {
      this.heldBack.set(service, map);
      return;
    }
    this.heldBack.delete(service);
    await publishSlotMap(this.secrets, this.prefix, service, map);
    this.publishedAt.set(service, Date.now());
  }

  /**
   * The functions route by the store: a map held back longer than `PUBLISH_EVERY_MS` (a slot left
   * for later, a long drain) would keep their checkouts on those slots answering "moved". So while
   * a move runs, the map held back goes out on a timer; the function returned stops the timer and
   * publishes what is still held back, however the move ended.
   */
  publishHeldBackWhileMoving(service: ShardedService): () => Promise<void> {
    const publishing = setInterval(
      () =>
        this.publishHeldBack(service).catch((error: unknown) =>
          this.progress.step(`${service}: publishing the map failed, tried again in ${PUBLISH_EVERY_MS} ms: ${String(error)}`),
        ),
      PUBLISH_EVERY_MS,
    );
    return async () => {
      clearInterval(publishing);
      await this.publishHeldBack(service).catch((error: unknown) =>
        this.progress.step(`${service}: the last moves' map was not published (${String(error)}); running the command again publishes it`),
      );
    };
  }

  /** Publishes the map last held back, if any (on a timer while moving, and when a move ends however it ends). */
  private async publishHeldBack(service: ShardedService): Promise<void> {
    const map = this.heldBack.get(service);
    if (map) await this.publishToStore(service, map, { now: true });
  }
}
