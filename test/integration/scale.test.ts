import type postgres from 'postgres';
import { Stack } from '../../infra/stack/stack';
import { liveConfig } from '../../infra/stack/instance-count';
import { closeShards, connectLiveShards, verifyShards, waitUntilFinished } from '../../infra/measure/shard-verifier';
import type { OpsSummary } from '../../functions/ops/summary-reads';
import { shop } from './support/shop';
import { stackConfig } from './support/stack';

/**
 * `npm run scale` while the shop serves: 64 checkouts of fresh orders in flight the whole time,
 * the function instances go 2 → 4 → 1 → 2 (from whatever the stack has, and back), and no
 * request fails: every checkout is answered 200. Afterwards every transaction is finished and
 * every shard agrees with its coordinators.
 */
const ORDERS = 60_000;
const IN_FLIGHT = 64;
// Every live shard, those `npm run shards` added too: their transactions and records count as much.
let shards: Map<string, postgres.Sql>;
beforeAll(async () => {
  shards = await connectLiveShards(stackConfig);
});
afterAll(() => closeShards(shards));

interface Phase {
  readonly instances: number;
  readonly from: number;
  to?: number;
  /** how long the step into this count took */
  readonly stepMs: number;
}

it('scales 2 → 4 → 1 → 2 under load with no failed request, and loses nothing', async () => {
  const stack = new Stack(stackConfig, { step: () => undefined });
  const original = liveConfig(stackConfig).instances;
  for (const path of [
    `/stock/batch_init/1000/1000000000/1`,
    `/payment/batch_init/${ORDERS}/1000000000`,
    `/orders/batch_init/${ORDERS}/1000/${ORDERS}/1`,
  ]) {
    expect((await shop.request('POST', path)).status).toBe(200);
  }

  let next = 0;
  let running = true;
  const replies: { at: number; status: number; error?: string }[] = [];
  const worker = async () => {
    while (running && next < ORDERS) {
      const orderId = String(next++);
      try {
        replies.push({ at: Date.now(), status: (await shop.checkout(orderId)).status });
      } catch (error) {
        replies.push({ at: Date.now(), status: 0, error: String(error) });
      }
    }
  };
  const load = Promise.all(Array.from({ length: IN_FLIGHT }, worker));

  const phases: Phase[] = [];
  const holdFor = async (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
  try {
    let stepStarted = Date.now();
    await stack.scale(2);
    phases.push({ instances: 2, from: Date.now(), stepMs: Date.now() - stepStarted });
    for (const count of [4, 1, 2]) {
      await holdFor(8_000);
      // A phase's rate counts from the end of the step into it to the start of the next one.
      stepStarted = Date.now();
      phases.at(-1)!.to = stepStarted;
      await stack.scale(count);
      phases.push({ instances: count, from: Date.now(), stepMs: Date.now() - stepStarted });
      const summary = (await shop.request('GET', '/ops/summary')).body as unknown as OpsSummary;
      expect(summary.instances!.map((instance) => instance.name)).toEqual(Array.from({ length: count }, (_, index) => `offline-${index}`));
    }
    await holdFor(8_000);
    phases.at(-1)!.to = Date.now();
  } finally {
    running = false;
    await load;
    await stack.scale(original);
  }

  const failed = replies.filter((reply) => reply.status !== 200);
  const rates = phases.map(({ instances, from, to, stepMs }) => ({
    instances,
    stepSeconds: Math.round(stepMs / 100) / 10,
    failedDuringStep: failed.filter((reply) => reply.at >= from - stepMs && reply.at < from).length,
    committedPerSecond: Math.round(
      replies.filter((reply) => reply.status === 200 && reply.at >= from && reply.at < to!).length / ((to! - from) / 1000),
    ),
  }));
  console.log(`scale under load: ${replies.length} checkouts, ${failed.length} failed; by step ${JSON.stringify(rates)}`);
  expect(failed).toEqual([]);
  expect(await waitUntilFinished(shards, 60_000)).toBe(0);
  expect(await verifyShards(shards, 10_000)).toEqual([]);
}, 300_000);
