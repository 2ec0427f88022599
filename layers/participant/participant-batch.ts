import type postgres from 'postgres';
import { ownedSlots } from '../db/owned-slots';
import { readMapCopy } from '../db/shard-map-copy';
import { type PendingWrites, pipelinedTransaction } from '../db/pipelined-transaction';
import type { Ack, Instruction, Result, Vote } from '../twopc/messages';
import type { SlotMap } from '../sharding/slots';
import { lateRefusal, participantStep, type Reservation } from '../twopc/participant-step';
import {
  changedRecords,
  lockParticipations,
  type ParticipationRow,
  type StoredParticipation,
  storedParticipations,
  writeParticipations,
} from './participation-records';

type PrepareOf<I extends Instruction> = Extract<I, { kind: 'prepare' }>;

/**
 * What one participant service (stock, payment) holds in escrow, for one batch on one shard:
 * it loads and locks the balances the batch touches (those its prepares ask for, and those the
 * prepared transactions among `txnIds` hold, which a rollback may give back), then reserves and
 * releases in memory, then writes every changed balance back in one statement.
 */
export interface Ledger<I extends Instruction, Held> {
  /** The keys (item or user ids) a prepare asks for: their slots must be this shard's. */
  keysOf(prepare: PrepareOf<I>): readonly string[];
  load(sql: postgres.TransactionSql, prepares: readonly PrepareOf<I>[], txnIds: readonly string[]): Promise<void>;
  tryReserve(prepare: PrepareOf<I>): { reservation: Reservation; held?: Held };
  /** A rollback: what the prepare held goes back to be free. */
  release(held: Held): void;
  /** A commit: what the prepare held is let go, charged for good. */
  keep(held: Held): void;
  /** The statement writing every changed balance back, unsent; none when nothing changed. */
  save(sql: postgres.TransactionSql): PendingWrites;
}

export interface ShardOutcome {
  readonly replies: Result[];
  readonly violations: { instruction: Instruction; violation: string }[];
}

/**
 * Applies a batch of instructions for one shard in a single local transaction: the
 * participation records (the dedup log) and the balances change together or not at all, so an
 * instruction is applied at most once even when Kafka delivers the batch again. Rows are locked
 * in a fixed order (balances by id, then records by txn id), so concurrent batches never
 * deadlock, and nothing waits for another two-phase transaction to finish.
 */
export async function applyOnShard<I extends Instruction, Held>(
  sql: postgres.Sql,
  {
    instructions,
    newLedger,
    slotOf,
  }: { readonly instructions: readonly I[]; readonly newLedger: () => Ledger<I, Held>; readonly slotOf: (key: string) => number },
): Promise<ShardOutcome> {
  const txnIds = [...new Set(instructions.map((instruction) => instruction.txnId))].sort();
  const ledger = newLedger();
  const prepares = instructions.filter(isPrepare);
  const slotsOf = (prepare: PrepareOf<I>) => ledger.keysOf(prepare).map(slotOf);
  const slots = [...new Set(prepares.flatMap(slotsOf))].sort((a, b) => a - b);
  const outcome = pipelinedTransaction(
    sql,
    (tx) => lockBatch(tx, { ledger, prepares, txnIds, slots }),
    (tx, { rows, owned, mapCopy }) => {
      const stored = storedParticipations(rows);
      const known = new Set(rows.map((row) => row.txn_id));
      const { outcome, changed } = applyInMemory(instructions, stored, { ledger, slotsOf, owned, mapCopy, now: Date.now() });
      const records = changedRecords(changed, stored, known);
      const writes = [...ledger.save(tx)];
      if (records.length > 0) writes.push(writeParticipations(tx, records));
      return { writes, result: outcome };
    },
  );
  return outcome.catch((error: unknown) => {
    throw concurrentBatchOr(error, txnIds);
  });
}

/** Narrows to the prepares, so they reach the ledger typed as its service's own prepare. */
function isPrepare<I extends Instruction>(instruction: I): instruction is I & PrepareOf<I> {
  return instruction.kind === 'prepare';
}

/** What the batch read under its locks: all its decisions are made on this, in memory, with no further round trip. */
interface LockedBatch {
  readonly rows: ParticipationRow[];
  readonly owned: Set<number>;
  /** Only read when a slot is not owned here: a `moved` refusal is the only reply that carries it. */
  readonly mapCopy: SlotMap | undefined;
}

/**
 * The batch's reads, and the locks every later decision relies on. They go out at once (with
 * BEGIN) and run in this order on the server: slots, then balances, then records, as in every
 * batch, so batches never deadlock. A second copy of a Prepare therefore waits on the balances
 * its first copy holds, and then reads the record that copy left.
 */
async function lockBatch<I extends Instruction, Held>(
  tx: postgres.TransactionSql,
  {
    ledger,
    prepares,
    txnIds,
    slots,
  }: {
    readonly ledger: Ledger<I, Held>;
    readonly prepares: readonly PrepareOf<I>[];
    readonly txnIds: readonly string[];
    readonly slots: readonly number[];
  },
): Promise<LockedBatch> {
  const [owned, , rows] = await Promise.all([ownedSlots(tx, slots), ledger.load(tx, prepares, txnIds), lockParticipations(tx, txnIds)]);
  // A prepare refused as moved carries this shard's map copy (`Vote.map`): read only when one of the slots is not owned here.
  const mapCopy = slots.some((slot) => !owned.has(slot)) ? await readMapCopy(tx) : undefined;
  return { rows, owned, mapCopy };
}

/** Everything `applyInMemory` decides against, fixed for the whole batch. */
interface BatchContext<I extends Instruction, Held> {
  readonly ledger: Ledger<I, Held>;
  readonly slotsOf: (prepare: PrepareOf<I>) => number[];
  readonly owned: ReadonlySet<number>;
  readonly mapCopy: SlotMap | undefined;
  /** One clock reading for the batch, so every prepare in it is judged late against the same instant. */
  readonly now: number;
}

/**
 * The protocol step of each instruction, in delivery order, against the records and balances
 * as the earlier instructions of the same batch left them (a Commit after its Prepare in one
 * batch finds it prepared). Only memory changes here: the writes are built once, after.
 */
function applyInMemory<I extends Instruction, Held>(
  instructions: readonly I[],
  stored: Map<string, StoredParticipation>,
  { ledger, slotsOf, owned, mapCopy, now }: BatchContext<I, Held>,
): { outcome: ShardOutcome; changed: Set<string> } {
  const changed = new Set<string>();
  const outcome: ShardOutcome = { replies: [], violations: [] };
  for (const instruction of instructions) {
    const current = stored.get(instruction.txnId);
    let held: Held | undefined;
    const step = participantStep(current?.participation, instruction, () => {
      const refusal = refusalBeforeReserving(instruction as PrepareOf<I>, slotsOf, owned, now);
      if (refusal) return refusal;
      const attempt = ledger.tryReserve(instruction as PrepareOf<I>);
      held = attempt.held;
      return attempt.reservation;
    });
    if (step.effect === 'release') ledger.release(current!.held as Held);
    if (step.effect === 'keep') ledger.keep(current!.held as Held);
    if (step.next) {
      stored.set(instruction.txnId, { participation: step.next, held: held ?? current?.held ?? [] });
      changed.add(instruction.txnId);
    }
    if (step.reply) outcome.replies.push(withMapCopy(step.reply, mapCopy));
    if (step.violation) outcome.violations.push({ instruction, violation: step.violation });
  }
  return { outcome, changed };
}

/**
 * A prepare this shard must refuse whatever its balances: one late past its deadline may be a
 * redelivered copy whose record was already forgotten, and the coordinator has aborted it anyway
 * (`lateRefusal`); one for a slot served elsewhere would take stock or money that shard counts.
 */
function refusalBeforeReserving<I extends Instruction>(
  prepare: PrepareOf<I>,
  slotsOf: (prepare: PrepareOf<I>) => number[],
  owned: ReadonlySet<number>,
  now: number,
): Reservation | undefined {
  const late = lateRefusal(prepare.deadline, now);
  if (late) return late;
  const elsewhere = slotsOf(prepare).find((slot) => !owned.has(slot));
  if (elsewhere !== undefined) return movedRefusal(elsewhere);
  return undefined;
}

/**
 * A prepare for a key whose slot this shard does not own (any more, or not yet): the coordinator
 * routed it by a stale map or into a move. Nothing is taken; the checkout tries again with a map
 * newer than the one it used.
 */
function movedRefusal(slot: number): Reservation {
  return { ok: false, refusal: 'moved', detail: `slot ${slot} is not served by this shard (moved, or moving)` };
}

/** A `moved` refusal carries the shard's map copy, so the coordinator can route the retry by a map the store may not have yet. */
function withMapCopy(reply: Vote | Ack, map: SlotMap | undefined): Vote | Ack {
  return map && reply.kind === 'vote' && reply.refusal === 'moved' ? { ...reply, map } : reply;
}

/**
 * Only the key of a record tells a lost race from any other failure: the caller retries the
 * batch on this error alone, and its retry is answered from the other batch's record.
 */
function concurrentBatchOr(error: unknown, txnIds: readonly string[]): unknown {
  if ((error as { code?: string; constraint_name?: string }).constraint_name === 'participations_pkey') {
    return new ConcurrentBatchError(txnIds, { cause: error });
  }
  return error;
}

/** Another batch recorded one of this batch's transactions first; retrying answers from its record. */
export class ConcurrentBatchError extends Error {
  override readonly name = 'ConcurrentBatchError';

  constructor(txnIds: readonly string[], options?: ErrorOptions) {
    super(
      `another batch recorded one of the transactions ${txnIds.join(', ')} first; nothing of this batch was applied, and its retry is answered from that record`,
      options,
    );
  }
}
