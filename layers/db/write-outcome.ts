import type postgres from 'postgres';
import { OutcomeUnknownError, UnavailableError } from '../errors';

/**
 * postgres.js's codes, and the socket's, for a connection lost while a statement may have been on
 * the wire: the server may have run it, and committed it, without the reply ever arriving. A
 * connection never opened (ECONNREFUSED, CONNECT_TIMEOUT) sent nothing, and an error the server
 * sent back means the statement failed; neither is here.
 */
const LOST_IN_FLIGHT = new Set(['CONNECTION_CLOSED', 'CONNECTION_DESTROYED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT']);

export function lostInFlight(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && LOST_IN_FLIGHT.has(code);
}

const unknownOutcome = (what: string, cause: unknown) =>
  new OutcomeUnknownError(
    `the connection to the database was lost after ${what} was sent: it may or may not have been applied; ` +
      'retry with the same Idempotency-Key (applied at most once), or read before writing again',
    { cause },
  );

/**
 * Runs a write that commits on its own (one statement outside a transaction, or a whole call that
 * may commit before it returns): a connection lost while it was in flight leaves its outcome
 * unknown, which the reply must say (`OutcomeUnknownError`), never "nothing changed".
 */
export async function writeOrUnknown<T>(what: string, write: () => Promise<T>): Promise<T> {
  try {
    return await write();
  } catch (error) {
    throw lostInFlight(error) ? unknownOutcome(what, error) : error;
  }
}

/**
 * Runs `body` in one transaction. A connection lost before `body` finished rolled everything
 * back (the server ends a transaction whose session is gone; COMMIT was never sent): a 503 may say
 * nothing was written (`UnavailableError`). Lost once COMMIT was on its way, the outcome is
 * unknown (`OutcomeUnknownError`).
 */
export async function transactionOrUnknown<T>(
  sql: postgres.Sql,
  what: string,
  body: (tx: postgres.TransactionSql) => Promise<T>,
): Promise<T> {
  let committing = false;
  try {
    return (await sql.begin(async (tx) => {
      const result = await body(tx);
      committing = true;
      return result;
    })) as T;
  } catch (error) {
    if (!lostInFlight(error)) throw error;
    if (committing) throw unknownOutcome(what, error);
    throw new UnavailableError(`the connection to the database was lost before ${what} committed: nothing was written; retry`, {
      cause: error,
    });
  }
}
