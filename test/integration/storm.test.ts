import { ShopClient } from '../../infra/measure/client';
import { closeShards, connectLiveShards, verifyShards, waitUntilFinished } from '../../infra/measure/shard-verifier';
import { runStorm } from '../../infra/measure/storm';
import { longHeldLocks, servesAgain } from '../../infra/measure/storm-checks';
import { eventually } from './support/eventually';
import { toTheEnd } from './support/shards-command';
import { publishedMap } from './support/slots';
import { gatewayUrl, stackConfig } from './support/stack';

/**
 * A seeded storm of concurrent, legal API calls (`infra/measure/storm.ts`) while a shard of one
 * service is added and removed again: every call answered within the bound and none with a 500,
 * the shop serving again at once, every transaction decided and acknowledged, every shard agreeing
 * with its coordinator, stock and money conserved exactly, and no lock held past the functions'
 * bound. The seed is printed, so that a failure can be replayed.
 */
const BOUND_MS = 15_000;
const LOCK_BOUND_MS = 10_000;

it.each([
  [1, 'stock'],
  [2, 'payment'],
  [3, 'order'],
] as const)(
  'storm with seed %i while a %s shard is added and removed: answered, serving, conserved',
  async (seed, service) => {
    const client = new ShopClient(gatewayUrl, 64);
    const before = await publishedMap(service);
    const moves = (async () => {
      await toTheEnd('add', service);
      const added = (await publishedMap(service)).shards.find((shard) => !before.shards.includes(shard))!;
      await toTheEnd('remove', `${service}-${added}`);
    })();
    const settle = async () => {
      const shards = await connectLiveShards(stackConfig);
      try {
        expect(await waitUntilFinished(shards, 60_000)).toBe(0);
      } finally {
        await closeShards(shards);
      }
    };
    try {
      const report = await runStorm(
        client,
        {
          seed,
          durationMs: 15_000,
          lastsUntil: moves,
          concurrency: 16,
          batchInit: { items: 200, users: 200, orders: 200 },
          boundMs: BOUND_MS,
        },
        settle,
      );
      console.log(
        `storm seed ${seed} beside ${service} moves: ${report.calls} calls, slowest ${report.slowestMs} ms, ${JSON.stringify(report.statuses)}`,
      );
      await moves;
      expect({ seed, violations: report.violations }).toEqual({ seed, violations: [] });
      expect(await servesAgain(client, 5_000)).toEqual([]);
      const shards = await connectLiveShards(stackConfig);
      try {
        expect(await verifyShards(shards, 10_000)).toEqual([]);
        // A transaction of the storm's last moments may still be finishing its statement: give it the bound.
        await eventually(
          'no lock held past the bound',
          async () => ((await longHeldLocks(shards, LOCK_BOUND_MS)).length === 0 ? true : undefined),
          LOCK_BOUND_MS,
        );
      } finally {
        await closeShards(shards);
      }
      expect((await publishedMap(service)).shards).toEqual(before.shards);
    } finally {
      await moves.catch(() => undefined);
      await client.close();
    }
  },
  600_000,
);
