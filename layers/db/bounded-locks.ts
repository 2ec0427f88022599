/** PostgreSQL's code for a lock not granted within `lock_timeout`. */
export const LOCK_NOT_AVAILABLE = '55P03';

/**
 * What every connection of the functions runs under, sent when it logs in, so that no request
 * or batch can hold locks, or wait for them, without bound: a lock waited for longer than this
 * fails the statement (a checkout's batch waits a few milliseconds behind another on a hot row),
 * a statement that runs longer is cancelled, and a session left idle inside a transaction is
 * ended, releasing its locks (milliseconds). Each database carries looser bounds of its own as a safety net for
 * every other login (migrations `bounded_locks`).
 */
export const FUNCTION_SESSION_BOUNDS = {
  lock_timeout: 5_000,
  statement_timeout: 20_000,
  idle_in_transaction_session_timeout: 10_000,
} as const;
