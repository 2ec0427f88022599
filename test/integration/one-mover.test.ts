import { eventually } from './support/eventually';
import { shards, toTheEnd } from './support/shards-command';
import { publishedMap } from './support/slots';

/**
 * One mover per service at a time. A second `npm run shards` beside a running one (someone
 * resuming by running the command again, or two removes side by side) used to give back a slot
 * the first was draining, after which the first still copied and forgot the source. Now the
 * second is refused at once, naming the first, and changes nothing; the first finishes.
 */
it('a second npm run shards on the same service is refused, naming the first, while the first runs on', async () => {
  const before = await publishedMap('payment');
  const first = shards('add', 'payment');
  try {
    await eventually('the first mover to be moving slots', async () => (/slots to move/.test(first.output()) ? true : undefined), 60_000);
    // The same command again, as a user resuming a move would run it.
    const second = shards('add', 'payment');
    expect(await second.exited).toBe(1);
    expect(second.output()).toMatch(/another mover is changing payment's shards: npm run shards add payment \(pid \d+ on .*\), since /);
  } finally {
    expect(await first.exited).toBe(0);
  }
  const added = (await publishedMap('payment')).shards.find((shard) => !before.shards.includes(shard))!;
  await toTheEnd('remove', `payment-${added}`);
  const status = await toTheEnd('status');
  expect(status).not.toMatch(/fenced|incoming/);
  const after = await publishedMap('payment');
  expect(after.shards).toEqual(before.shards);
  expect(after.pending).toBeUndefined();
}, 300_000);
