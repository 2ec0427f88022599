import type postgres from 'postgres';
import type { Participation } from '../twopc/participant-step';

/** A row of `participations`, the dedup log: what this shard recorded of one transaction, and what its prepare holds. */
export interface ParticipationRow {
  txn_id: string;
  state: Participation['state'];
  refusal: string | null;
  held: unknown;
}

/** A record as a batch works on it in memory: the protocol state, and what its prepare holds (the ledger's own shape). */
export interface StoredParticipation {
  participation: Participation;
  held: unknown;
}

/** A record the batch changed, as the write statement takes it; `known` says whether it was read (and locked) or is new. */
export interface ChangedRecord {
  txn_id: string;
  state: Participation['state'];
  refusal: string | null;
  held: unknown;
  known: boolean;
}

/**
 * The batch's records, locked in txn id order, the order every batch takes them in, so two
 * batches never wait on each other's records crosswise. Returned unsent and not `async`: the
 * caller puts it beside its other reads, so that all of them leave in one round trip, in order.
 */
export function lockParticipations(tx: postgres.TransactionSql, txnIds: readonly string[]): postgres.PendingQuery<ParticipationRow[]> {
  return tx<ParticipationRow[]>`
    select txn_id, state, refusal, held from participations
    where txn_id = any(${tx.array(txnIds as string[])}) order by txn_id for update`;
}

/** The records as the protocol step reads them; an `aborted` row stored without a refusal was a rollback. */
export function storedParticipations(rows: readonly ParticipationRow[]): Map<string, StoredParticipation> {
  return new Map<string, StoredParticipation>(
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
}

/** Only the records a batch changed are written back; `known` decides between update and insert (`writeParticipations`). */
export function changedRecords(
  changed: ReadonlySet<string>,
  stored: ReadonlyMap<string, StoredParticipation>,
  known: ReadonlySet<string>,
): ChangedRecord[] {
  return [...changed].map((txnId) => {
    const { participation, held } = stored.get(txnId)!;
    return {
      txn_id: txnId,
      state: participation.state,
      refusal: participation.state === 'aborted' ? participation.refusal : null,
      held,
      known: known.has(txnId),
    };
  });
}

/**
 * Every changed record in one statement, unsent, so it leaves with the balances and COMMIT.
 *
 * A record read above is locked and is updated. A record that did not exist locked nothing:
 * another batch holding the same transaction (two consumers of one partition after a rebalance,
 * a redelivery beside a frozen instance) may have written it since. So it is inserted, never
 * upserted: the second writer fails on the key, its whole transaction with it, and its retry is
 * answered from the record the first one left.
 * The key list lets the planner look the records up by key: it takes a recordset for 100 rows,
 * and so scanned the whole table to hash-join one (docs/performance.md, 'Levers').
 */
export function writeParticipations(tx: postgres.TransactionSql, records: readonly ChangedRecord[]): postgres.PendingQuery<postgres.Row[]> {
  return tx`
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
    select txn_id, state, refusal, coalesce(held, '[]'::jsonb) from fields where not known`;
}
