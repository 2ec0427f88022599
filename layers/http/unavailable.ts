/** postgres.js's own codes for a connection it lost or could not open, and the socket's. */
const CONNECTION_LOST = new Set([
  'CONNECTION_CLOSED',
  'CONNECTION_ENDED',
  'CONNECTION_DESTROYED',
  'CONNECT_TIMEOUT',
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  // Every host of a replicated server tried, none of them primary: a failover under way (patches/postgres).
  'TARGET_SESSION_ATTRS_UNMET',
]);

/** The server ended a session left idle inside a transaction past its bound (`layers/db/bounded-locks.ts`): rolled back, nothing changed. */
const IDLE_IN_TRANSACTION_TIMEOUT = '25P03';

/**
 * A write refused by a server that takes none right now: in the replicated stack, a standby in the
 * seconds of its promotion (pg_auto_failover opens it to writes last) or a primary being demoted.
 */
const READ_ONLY_TRANSACTION = '25006';

/**
 * Whether an error means a database or the broker cannot be reached right now (restarting, shut
 * down, failing over), as opposed to a fault in the request or the code: the caller should try
 * again (503), not report a bug (500). PostgreSQL's classes 08 (connection exception) and 57
 * (operator intervention: shutdown, starting up, a statement cancelled past its bound) count, a
 * transaction the server ended past its idle bound, and a write refused during a failover; so do
 * kafkajs's connection errors.
 */
export function isUnavailable(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const { code, name } = error as { code?: unknown; name?: unknown };
  if (
    typeof code === 'string' &&
    (CONNECTION_LOST.has(code) ||
      code.startsWith('08') ||
      code.startsWith('57') ||
      code === IDLE_IN_TRANSACTION_TIMEOUT ||
      code === READ_ONLY_TRANSACTION)
  )
    return true;
  return typeof name === 'string' && /^KafkaJS(Connection|NumberOfRetriesExceeded|BrokerNotFound|RequestTimeout)Error$/.test(name);
}
