import type postgres from 'postgres';
import { ownedSlots } from '../db/owned-slots';
import { readMapCopy } from '../db/shard-map-copy';
import { type PendingWrites, pipelinedTransaction } from '../db/pipelined-transaction';
import type { Ack, Instruction, Result, Vote } from '../twopc/messages';
import type { SlotMap } from '../sharding/slots';
import { lateRefusal, type Participation, participantStep, type Reservation } from '../twopc/participant-step';

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

interface StoredParticipation {
  participation: Participation;
  held: unknown;
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
  const isPrepare = (instruction: I): instruction is I & PrepareOf<I> => instruction.kind === 'prepare';
  const ledger = newLedger();
  const prepares = instructions.filter(isPrepare);
  const slotsOf = (prepare: PrepareOf<I>) => ledger.keysOf(prepare).map(slotOf);
  const slots = [...new Set(prepares.flatMap(slotsOf))].sort((a, b) => a - b);
  const outcome = pipelinedTransaction(
    sql,
    async (tx) => {
      // The reads go out at once (with BEGIN) and run in this order on the server: slots, then
      // balances, then records, as in every batch, so batches never deadlock. A second copy of a
      // Prepare therefore waits on the balances its first copy holds, and then reads the
      // record that copy left.
      const [owned, , rows] = await Promise.all([
        ownedSlots(tx, slots),
        ledger.load(tx, prepares, txnIds),
        tx<{ txn_id: string; state: Participation['state']; refusal: string | null; held: unknown }[]>`
          select txn_id, state, refusal, held from participations
          where txn_id = any(${tx.array(txnIds)}) order by txn_id for update`,
      ]);
      // A prepare refused as moved carries this shard's map copy (`Vote.map`): read only when one of the slots is not owned here.
      const mapCopy = slots.some((slot) => !owned.has(slot)) ? await readMapCopy(tx) : undefined;
      return { rows, owned, mapCopy };
    },
    (tx, { rows, owned, mapCopy }) => {
      const stored = new Map<string, StoredParticipation>(
        rows.map((row) => [
          row.txn_id,
          {
            participation: (row.state === 'aborted'
              ? { state: 'aborted', refusal: row.refusal ?? 'rolled_back' }
              : { state: row.state }) as Participation,
            held: row.held,
          },
        ]),
      );

      const known = new Set(rows.map((row) => row.txn_id));
      const now = Date.now();
      const changed = new Set<string>();
      const outcome: ShardOutcome = { replies: [], violations: [] };
      for (const instruction of instructions) {
        const current = stored.get(instruction.txnId);
        let held: Held | undefined;
        const step = participantStep(current?.participation, instruction, () => {
          const late = lateRefusal((instruction as PrepareOf<I>).deadline, now);
          if (late) return late;
          const elsewhere = slotsOf(instruction as PrepareOf<I>).find((slot) => !owned.has(slot));
          if (elsewhere !== undefined) return movedRefusal(elsewhere);
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

      const records = [...changed].map((txnId) => {
        const { participation, held } = stored.get(txnId)!;
        return {
          txn_id: txnId,
          state: participation.state,
          refusal: participation.state === 'aborted' ? participation.refusal : null,
          held,
          known: known.has(txnId),
        };
      });
      const writes = [...ledger.save(tx)];
      if (records.length > 0) {
        // A record read above is locked and is updated. A record that did not exist locked
        // nothing: another batch holding the same transaction (two consumers of one partition
        // after a rebalance, a redelivery beside a frozen instance) may have written it since.
        // So it is inserted, never upserted: the second writer fails on the key, this whole
        // transaction with it, and its retry is answered from the record the first one left.
        // The key list lets the planner look the records up by key: it takes a recordset for 100
        // rows, and so scanned the whole table to hash-join one (docs/performance.md, 'Levers').
        writes.push(tx`
          with fields as (
            select * from jsonb_to_recordset(${tx.json(records as never)})
              as r(txn_id text, state text, refusal text, held jsonb, known boolean)
          ), updated as (
            update participations p
            set state = f.state, refusal = f.refusal, held = coalesce(f.held, '[]'::jsonb), updated_at = now()
            from fields f where f.known and p.txn_id = f.txn_id
              and p.txn_id = any(${tx.array(records.filter((record) => record.known).map((record) => record.txn_id))}::text[])
          )
          insert into participations (txn_id, state, refusal, held)
          select txn_id, state, refusal, coalesce(held, '[]'::jsonb) from fields where not known`);
      }
      return { writes, result: outcome };
    },
  );
  return outcome.catch((error: unknown) => {
    if ((error as { code?: string; constraint_name?: string }).constraint_name === 'participations_pkey') {
      throw new ConcurrentBatchError(txnIds, { cause: error });
    }
    throw error;
  });
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
