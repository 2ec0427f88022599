import { movesToFill, nextShard, withShardAdded } from '../../layers/sharding/slots';
import { eventually } from './support/eventually';
import { shards, toTheEnd } from './support/shards-command';
import { publishedMap, publishedVersions } from './support/slots';
import { connectTo } from './support/stack';

/**
 * One mover per service at a time. A second `npm run shards` beside a running one (someone
 * resuming by running the command again, or two removes side by side) used to give back a slot
 * the first was draining, after which the first still copied and forgot the source. Now the
 * second is refused at once, naming the first, and changes nothing; the first finishes.
 */
it('a second npm run shards on the same service is refused, naming the first, while the first runs on', async () => {
  const before = await publishedMap('payment');
  const versionsBefore = await publishedVersions('payment');
  // The first slot the add will move is kept busy (a reservation), so the first mover is surely still running.
  const [firstMove] = movesToFill(withShardAdded(before, nextShard(before)), nextShard(before));
  const source = connectTo(`payment-${firstMove!.from}`);
  const started = Date.now();
  let first: ReturnType<typeof shards> | undefined;
  try {
    await source`insert into users (user_id, credit, held, slot) values ('one-mover-hold', 0, 1, ${firstMove!.slot})`;
    first = shards('add', 'payment');
    await eventually(
      'the first mover to leave the busy slot for later',
      async () => (/left for later/.test(first!.output()) ? true : undefined),
      60_000,
    );
    // The same command again, as a user resuming a move would run it.
    const second = shards('add', 'payment');
    expect(await second.exited).toBe(1);
    expect(second.output()).toMatch(/another mover is changing payment's shards: npm run shards add payment \(pid \d+ on .*\), since /);
  } finally {
    await source`delete from users where user_id = 'one-mover-hold'`;
    await source.end({ timeout: 1 });
    if (first) expect(await first.exited).toBe(0);
  }

  // One map version per slot moved, but Secrets Manager (which keeps each version for a day) gets one every 2 s at most.
  const seconds = (Date.now() - started) / 1000;
  const moved = Number(/added payment-\d+: (\d+) slots moved/.exec(first.output())?.[1]);
  expect(moved).toBeGreaterThan(100);
  const movedTo = await publishedMap('payment');
  expect(movedTo.version - before.version).toBeGreaterThanOrEqual(moved);
  expect((await publishedVersions('payment')) - versionsBefore).toBeLessThanOrEqual(Math.ceil(seconds / 2) + 2);

  const added = movedTo.shards.find((shard) => !before.shards.includes(shard))!;
  await toTheEnd('remove', `payment-${added}`);
  expect(await toTheEnd('status')).not.toMatch(/fenced|incoming/);
  const after = await publishedMap('payment');
  expect(after.shards).toEqual(before.shards);
  expect(after.pending).toBeUndefined();
}, 300_000);
