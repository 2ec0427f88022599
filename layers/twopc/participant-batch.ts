import type postgres from 'postgres';
import { type PendingWrites, pipelinedTransaction } from '../db/pipelined-transaction';
import type { Instruction, Result } from './messages';
import { type Participation, participantStep, type Reservation } from './participant';

type PrepareOf<I extends Instruction> = Extract<I, { kind: 'prepare' }>;

/**
 * What one participant service (stock, payment) holds in escrow, for one batch on one shard:
 * it loads and locks the balances the batch touches (those its prepares ask for, and those the
 * prepared transactions among `txnIds` hold, which a rollback may give back), then reserves and
 * releases in memory, then writes every changed balance back in one statement.
 */
export interface Ledger<I extends Instruction, Held> {
  load(sql: postgres.TransactionSql, prepares: readonly PrepareOf<I>[], txnIds: readonly string[]): Promise<void>;
  tryReserve(prepare: PrepareOf<I>): { reservation: Reservation; held?: Held };
  release(held: Held): void;
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
 * in a fixed order (records by txn id, then balances by id), so concurrent batches never
 * deadlock, and nothing waits for another two-phase transaction to finish.
 */
export async function applyOnShard<I extends Instruction, Held>(
  sql: postgres.Sql,
  instructions: readonly I[],
  newLedger: () => Ledger<I, Held>,
): Promise<ShardOutcome> {
  const txnIds = [...new Set(instructions.map((instruction) => instruction.txnId))].sort();
  const isPrepare = (instruction: I): instruction is I & PrepareOf<I> => instruction.kind === 'prepare';
  const ledger = newLedger();
  return pipelinedTransaction(
    sql,
    async (tx) => {
      // Both locks go out at once (with BEGIN) and run in this order on the server: records
      // first, then balances, as in every batch.
      const [rows] = await Promise.all([
        tx<{ txn_id: string; state: Participation['state']; refusal: string | null; held: unknown }[]>`
          select txn_id, state, refusal, held from participations
          where txn_id = any(${tx.array(txnIds)}) order by txn_id for update`,
        ledger.load(tx, instructions.filter(isPrepare), txnIds),
      ]);
      return rows;
    },
    (tx, rows) => {
      const stored = new Map<string, StoredParticipation>(
        rows.map((row) => [
          row.txn_id,
          {
            participation: (row.state === 'aborted' ? { state: 'aborted', refusal: row.refusal ?? 'rolled_back' } : { state: row.state }) as Participation,
            held: row.held,
          },
        ]),
      );

      const changed = new Set<string>();
      const outcome: ShardOutcome = { replies: [], violations: [] };
      for (const instruction of instructions) {
        const current = stored.get(instruction.txnId);
        let held: Held | undefined;
        const step = participantStep(current?.participation, instruction, () => {
          const attempt = ledger.tryReserve(instruction as PrepareOf<I>);
          held = attempt.held;
          return attempt.reservation;
        });
        if (step.effect === 'release') ledger.release(current!.held as Held);
        if (step.next) {
          stored.set(instruction.txnId, { participation: step.next, held: held ?? current?.held ?? [] });
          changed.add(instruction.txnId);
        }
        if (step.reply) outcome.replies.push(step.reply);
        if (step.violation) outcome.violations.push({ instruction, violation: step.violation });
      }

      const records = [...changed].map((txnId) => {
        const { participation, held } = stored.get(txnId)!;
        return {
          txn_id: txnId,
          state: participation.state,
          refusal: participation.state === 'aborted' ? participation.refusal : null,
          held,
        };
      });
      const writes = [...ledger.save(tx)];
      if (records.length > 0) {
        writes.push(tx`
          insert into participations (txn_id, state, refusal, held)
          select txn_id, state, refusal, coalesce(held, '[]'::jsonb)
          from jsonb_to_recordset(${tx.json(records as never)}) as r(txn_id text, state text, refusal text, held jsonb)
          on conflict (txn_id) do update
            set state = excluded.state, refusal = excluded.refusal, held = excluded.held, updated_at = now()`);
      }
      return { writes, result: outcome };
    },
  );
}
