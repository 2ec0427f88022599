import type { ShopClient } from './client';
import { seededRandom } from './seeded-random';
import { StormCaller } from './storm-caller';
import { conservationOfStorm } from './storm-checks';
import { type Move, stormMoves } from './storm-moves';
import { emptyLedger, makeStormRows } from './storm-rows';

/**
 * A storm of concurrent, legal API calls, chosen by a seeded generator so that a failure can be
 * replayed: batch_init of every service (two at once, and while checkouts run), stock and credit
 * added up to the cap and taken down to zero, items added to orders being checked out, one order
 * checked out several times at once, finds. Afterwards it checks what a user could: every call
 * answered within a bound and none with a 500, and stock and money conserved exactly over the
 * storm's own items, users and orders (batch_init overwrites its rows "0" … "n-1" by contract,
 * so those are exercised, not counted).
 */
export interface StormSettings {
  readonly seed: number;
  readonly durationMs: number;
  /** when given, the storm also lasts until this settles (a shard move running beside it) */
  readonly lastsUntil?: Promise<unknown>;
  /** calls in flight at once */
  readonly concurrency: number;
  /** batch_init sizes; without them the storm makes no batch_init calls (a load runs on those rows and counts them) */
  readonly batchInit?: { readonly items: number; readonly users: number; readonly orders: number };
  /** the longest a call may take to be answered */
  readonly boundMs: number;
  /** told when the storm's own items, users and orders exist and its calls begin */
  readonly onCallsBegin?: () => void;
}

export interface StormReport {
  readonly seed: number;
  readonly calls: number;
  /** per kind of call, how many answered each status (0: no reply) */
  readonly statuses: Record<string, Record<number, number>>;
  readonly slowestMs: number;
  readonly violations: string[];
}

/** Runs the storm, then checks it; the caller waits for every transaction to finish first (`settled`). */
export async function runStorm(client: ShopClient, settings: StormSettings, settled: () => Promise<void>): Promise<StormReport> {
  const rows = await makeStormRows(client, seededRandom(settings.seed));
  settings.onCallsBegin?.();
  const ledger = emptyLedger(rows);
  const caller = new StormCaller(client, settings.boundMs);
  await runCallers(stormMoves(caller, rows, ledger, settings.batchInit), settings);
  await settled();
  const conservation = await conservationOfStorm(client, rows, ledger);
  const { calls, statuses, slowestMs, violations } = caller.tally();
  return { seed: settings.seed, calls, statuses, slowestMs, violations: [...violations, ...conservation] };
}

/**
 * `concurrency` callers, each drawing its moves by weight from its own seeded generator, until
 * the duration is over and whatever runs beside the storm (`lastsUntil`) has settled: the storm
 * must cover the whole of a move, however long it takes.
 */
async function runCallers(moves: readonly Move[], settings: StormSettings): Promise<void> {
  const totalWeight = moves.reduce((sum, [weight]) => sum + weight, 0);
  const until = Date.now() + settings.durationMs;
  let besideRunning = settings.lastsUntil !== undefined;
  settings.lastsUntil?.finally(() => (besideRunning = false)).catch(() => undefined);
  await Promise.all(
    Array.from({ length: settings.concurrency }, async (_, caller) => {
      const random = seededRandom(settings.seed * 1_000 + caller);
      while (Date.now() < until || besideRunning) {
        let roll = random() * totalWeight;
        const move =
          moves.find(([weight]) => {
            roll -= weight;
            return roll < 0;
          }) ?? moves.at(-1)!;
        await move[1](random);
      }
    }),
  );
}
