/**
 * The bounds of the settings that more than one place reads: the functions (their environment),
 * `npm start` (SHOP_*) and `sls package` (parameters) refuse the same values.
 */

/**
 * How long a checkout waits for its decision, in ms. A refused one may wait as long again for
 * its reservations to come back: both within the function's 28 s (API Gateway gives up at 30 s),
 * with room left for the log's own statements.
 */
export const CHECKOUT_WAIT_MS = { fallback: 5_000, min: 100, max: 12_000 } as const;

/**
 * How long a whole checkout may take, in ms, moves followed included: the function's 28 s
 * (serverless.yml) less room for the reply. One attempt (two waits at most) always fits.
 */
export const CHECKOUT_BUDGET_MS = 26_000;

/**
 * How long finished transactions' log entries and participation records are kept, in s. The
 * floor keeps it well above what makes deleting them safe: a late Prepare's margin plus the
 * longest checkout wait (see `lateRefusal`; a unit test holds them together).
 */
export const LOG_RETENTION_S = { fallback: 3_600, min: 600, max: 31_536_000 } as const;

/** How long a write's Idempotency-Key and reply are kept, in s: a day at least, as Stripe keeps them, far longer than any client retries. */
export const IDEMPOTENCY_RETENTION_S = { fallback: 86_400, min: 86_400, max: 31_536_000 } as const;
