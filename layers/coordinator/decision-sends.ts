/**
 * The coordinator's step (`twopc/coordinator-step.ts`) run on an order shard's 2PC log
 * (`transactions.ts`): votes, acknowledgements, timeouts and due resends applied in one local
 * transaction each, returning the decisions to send once it commits; and the outbox they are
 * sent through, by the participant's instruction topic.
 */
import type postgres from 'postgres';
import { type PendingWrites, pipelinedTransaction } from '../db/pipelined-transaction';
import type { ShardSet } from '../db/shards';
import { addToOutbox, type Outbox } from '../kafka/producer';
import { coordinatorStep, type CoordinatorStep, pendingDecisions, timeoutStep, type Transaction } from '../twopc/coordinator-step';
import {
  type Decide,
  encode,
  decisionRecords,
  type Instruction,
  type ParticipantId,
  parseParticipant,
  type Result,
} from '../twopc/messages';
import { TOPICS } from '../kafka/topics';
import { groupByShard } from '../sharding/shard';
import { claimResends, type LockedTransaction, lockExpired, lockTransactions, saveTransactions } from './transactions';
import { saveLearnedMaps } from './learned-maps';

/** The topic a participant reads its instructions from. */
function instructionTopic(participant: ParticipantId): string {
  return parseParticipant(participant).service === 'stock' ? TOPICS.stockInstructions : TOPICS.paymentInstructions;
}

/** Puts instructions in the outbox, keyed by transaction so all of one transaction's messages share a partition. */
export function queueInstructions(outbox: Outbox, instructions: readonly Instruction[]): void {
  for (const instruction of instructions) {
    addToOutbox(outbox, instructionTopic(instruction.participant), { key: instruction.txnId, value: encode(instruction) });
  }
}

/** Puts decisions in the outbox, as few records per participant as carry all of its decisions (`decisionRecords`). */
export function queueDecisionsTogether(outbox: Outbox, decisions: readonly Decide[]): void {
  for (const [participant, ofParticipant] of Map.groupBy(decisions, (decision) => decision.participant)) {
    for (const record of decisionRecords(ofParticipant)) addToOutbox(outbox, instructionTopic(participant), record);
  }
}

interface Applied {
  readonly sends: Decide[];
  readonly violations: string[];
  readonly unknown: Result[];
}

/**
 * Runs steps over locked log entries and returns the statements that save what changed, for the
 * caller's local transaction. Decisions are returned, not sent: they go out only after that
 * transaction commits.
 */
function stepAll(
  sql: postgres.TransactionSql,
  locked: ReadonlyMap<string, LockedTransaction>,
  steps: readonly { txnId: string; step: (txn: Transaction) => CoordinatorStep }[],
): { sends: Decide[]; violations: string[]; writes: PendingWrites; transactions: Map<string, Transaction> } {
  const transactions = new Map([...locked].map(([txnId, { txn }]) => [txnId, txn]));
  const agesMs = new Map([...locked].map(([txnId, { ageMs }]) => [txnId, ageMs]));
  const changed = new Map<string, Transaction>();
  const decided = new Set<string>();
  const sends: Decide[] = [];
  const violations: string[] = [];
  for (const { txnId, step } of steps) {
    const before = transactions.get(txnId)!;
    const result = step(before);
    if (result.violation) violations.push(result.violation);
    if (result.txn !== before) {
      transactions.set(txnId, result.txn);
      changed.set(txnId, result.txn);
    }
    if (result.decided) decided.add(txnId);
    sends.push(...result.send);
  }
  return { sends, violations, writes: saveTransactions(sql, { changed: [...changed.values()], decided, agesMs }), transactions };
}

/** Applies a batch of votes and acknowledgements to one order shard's log, in one local transaction. */
export function applyResults(sql: postgres.Sql, results: readonly Result[]): Promise<Applied> {
  return pipelinedTransaction(
    sql,
    (tx) => lockTransactions(tx, [...new Set(results.map((result) => result.txnId))]),
    (tx, transactions) => {
      const known = results.filter((result) => transactions.has(result.txnId));
      const { sends, violations, writes } = stepAll(
        tx,
        transactions,
        known.map((result) => ({ txnId: result.txnId, step: (txn: Transaction) => coordinatorStep(txn, result) })),
      );
      return {
        writes: [...writes, ...saveLearnedMaps(tx, results)],
        result: { sends, violations, unknown: results.filter((result) => !transactions.has(result.txnId)) },
      };
    },
  );
}

/** Aborts the given transactions if they are still undecided (atomically against a concurrent decision). */
export function abortIfUndecided(
  sql: postgres.Sql,
  txnIds: readonly string[],
): Promise<{ sends: Decide[]; settled: Map<string, Transaction> }> {
  return pipelinedTransaction(
    sql,
    (tx) => lockTransactions(tx, txnIds),
    (tx, transactions) => {
      const {
        sends,
        writes,
        transactions: settled,
      } = stepAll(
        tx,
        transactions,
        [...transactions.keys()].map((txnId) => ({ txnId, step: timeoutStep })),
      );
      return { writes, result: { sends, settled } };
    },
  );
}

/** The resolver's first duty: abort what is undecided past its deadline. */
export function abortExpired(sql: postgres.Sql, limit: number): Promise<Decide[]> {
  return pipelinedTransaction(
    sql,
    (tx) => lockExpired(tx, limit),
    (tx, expired) => {
      const { sends, writes } = stepAll(
        tx,
        new Map(expired.map((locked) => [locked.txn.txnId, locked])),
        expired.map(({ txn }) => ({ txnId: txn.txnId, step: timeoutStep })),
      );
      return { writes, result: sends };
    },
  );
}

/**
 * The resolver's second duty: the decisions some participant has not acknowledged and whose
 * resend is due, to send again (each one's next resend is put off further every time).
 */
export async function owedDecisions(sql: postgres.Sql, pauseMs: number, limit: number): Promise<Decide[]> {
  return (await claimResends(sql, { pauseMs, limit })).flatMap(pendingDecisions);
}

/**
 * Applies results on the order shards that own their orders, by `orders`' map and then, for those
 * whose shard does not know the transaction, by newer maps (at most `reroutes` of them): the
 * transaction may have moved with its order's slot, or been logged where a newer map than this
 * container's routed its checkout. Returns the decisions to send, the protocol violations, and
 * the results no shard knew.
 */
export async function applyResultsWhereOwned(orders: ShardSet, results: readonly Result[], reroutes: number): Promise<Applied> {
  const sends: Decide[] = [];
  const violations: string[] = [];
  let routes = orders;
  let unknown = await applyByOwner(routes, results, sends, violations);
  for (let reroute = 1; unknown.length > 0 && reroute <= reroutes; reroute++) {
    const newer = await routes.newer();
    const moved = unknown.filter((result) => newer.ownerOf(result.orderId) !== routes.ownerOf(result.orderId));
    if (moved.length === 0) break;
    const unmoved = unknown.filter((result) => !moved.includes(result));
    unknown = [...unmoved, ...(await applyByOwner(newer, moved, sends, violations))];
    routes = newer;
  }
  return { sends, violations, unknown };
}

async function applyByOwner(orders: ShardSet, results: readonly Result[], sends: Decide[], violations: string[]): Promise<Result[]> {
  const byShard = groupByShard(results, (result) => result.orderId, orders.ownerOf);
  const applied = await Promise.all([...byShard].map(([shard, ofShard]) => applyResults(orders.at(shard), ofShard)));
  for (const outcome of applied) {
    sends.push(...outcome.sends);
    violations.push(...outcome.violations);
  }
  return applied.flatMap((outcome) => outcome.unknown);
}
