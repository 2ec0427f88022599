import { randomUUID } from 'node:crypto';
import { mapLimit, type Reply, worthRetrying } from '../../infra/measure/client';
import { eventually } from './support/eventually';
import { shards, toTheEnd } from './support/shards-command';
import { shop, userWith } from './support/shop';
import { publishedMap } from './support/slots';
import { connectTo } from './support/stack';

/**
 * The mover's lease is a session advisory lock per shard; a connection reset (a restart, a
 * failover, a terminated backend) lets it go while the mover runs on. It used to go on fencing
 * and handing over slots a second mover was settling: a write landed on a source that then
 * forgot it. Now the mover proves its lease before every step and stops that step, saying why,
 * then takes the lease again (refused if another mover took it meanwhile) and resumes from what
 * the shards hold, as the command run again would; every acknowledged write is there once.
 */
it('a mover whose lease sessions are terminated mid-move stops naming why, takes the lease again and finishes; no write under load is lost', async () => {
  const before = await publishedMap('payment');
  const users = await mapLimit(Array.from({ length: 24 }), 8, () => userWith(0));
  const credited = new Map(users.map((userId) => [userId, 0]));
  let writing = true;
  const problems: string[] = [];
  // Keyed add_funds on every user while the shards move, each retried with its key until known.
  const load = mapLimit(users, users.length, async (userId) => {
    while (writing) {
      const idempotencyKey = randomUUID();
      let reply: Reply | undefined;
      for (let attempt = 1; attempt <= 40; attempt++) {
        reply = await shop
          .request('POST', `/payment/add_funds/${userId}/1`, { idempotencyKey })
          .catch((error: unknown): Reply => ({ status: 0, body: { error: String(error) }, contentType: null }));
        if (!worthRetrying(reply)) break;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      if (reply!.status === 200) credited.set(userId, credited.get(userId)! + 1);
      else problems.push(`add_funds ${userId}: ${reply!.status} ${JSON.stringify(reply!.body)}`);
    }
  });

  const first = shards('add', 'payment');
  try {
    await eventually('the first mover to move slots', async () => (/slots moved/.test(first.output()) ? true : undefined), 120_000);
    // Its lease sessions are the ones named after it (`moverName`); the work pools are not.
    for (const shard of before.shards) {
      const sql = connectTo(`payment-${shard}`);
      try {
        await sql`select pg_terminate_backend(pid) from pg_stat_activity
                  where application_name like 'npm run shards add payment%' and pid <> pg_backend_pid()`;
      } finally {
        await sql.end({ timeout: 1 });
      }
    }
    expect(await first.exited).toBe(0);
    expect(first.output()).toMatch(/the mover lost its lease on payment-\d+ \(.*; taking the lease again/);
    expect(first.output()).toMatch(/resumed an interrupted move|slots to move/);
  } finally {
    writing = false;
    await load;
  }
  expect(problems).toEqual([]);
  expect(await toTheEnd('status')).not.toMatch(/fenced|incoming/);
  for (const userId of users) expect({ userId, credit: await shop.credit(userId) }).toEqual({ userId, credit: credited.get(userId) });

  const added = (await publishedMap('payment')).shards.find((shard) => !before.shards.includes(shard))!;
  await toTheEnd('remove', `payment-${added}`);
  expect((await publishedMap('payment')).shards).toEqual(before.shards);
}, 400_000);
