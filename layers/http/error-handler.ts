import type middy from '@middy/core';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { AppError } from '../errors';
import { jsonReply } from './reply';
import { isUnavailable } from './unavailable';
import { LOCK_NOT_AVAILABLE } from '../db/bounded-locks';
import { lostInFlight } from '../db/write-outcome';
import { describe, logger } from '../logging/logger';

type Request = middy.Request<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2>;

/** How long a client is told to wait before trying a 503 again: a moving slot, a restarting shard or broker take about that long. */
export const RETRY_AFTER_S = 1;

/** An error reply: a message for people, a stable code for programs; a 503 (or a key still in flight) also says when to try again. */
export function errorReply(status: number, code: string, message: string): APIGatewayProxyStructuredResultV2 {
  const reply = jsonReply(status, { error: message, code });
  const tryAgain = status === 503 || code === 'idempotency_in_flight';
  return tryAgain ? { ...reply, headers: { ...reply.headers, 'retry-after': String(RETRY_AFTER_S) } } : reply;
}

/** Whether the route may write: every route but a GET. */
const writes = (request: Request) => !request.event.routeKey.startsWith('GET ');

/**
 * Maps the error hierarchy to replies in one place: an `AppError` shows its own message, code and
 * status; a database or the broker out of reach, or a lock waited for past its bound, is a 503
 * `unavailable` (try again); anything else is logged whole and answered with a generic 500
 * `internal`. No internal detail (SQL, hosts, stack traces) ever reaches a client.
 */
export function httpErrorHandler(): middy.MiddlewareObj<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2> {
  const httpErrorHandlerOnError = async (request: Request): Promise<void> => {
    const { error } = request;
    if (error instanceof AppError) {
      request.response = errorReply(error.status, error.code, error.message);
      return;
    }
    const fault = knownFault(error, writes(request));
    if (fault) {
      logger.warn(fault.logged, { route: request.event.routeKey, error: describe(error) });
      request.response = errorReply(fault.status, fault.code, fault.message);
      return;
    }
    logger.error('internal error', { route: request.event.routeKey, error: describe(error), stack: (error as Error | null)?.stack });
    request.response = errorReply(
      500,
      'internal',
      writes(request)
        ? 'internal error; the write may or may not have been applied: retry with the same Idempotency-Key, or read before writing again'
        : 'internal error; a read changes nothing and is safe to retry',
    );
  };
  return { onError: httpErrorHandlerOnError };
}

/** A fault of the infrastructure the reply can name truthfully, and the line the log gets. */
interface KnownFault {
  readonly logged: string;
  readonly status: number;
  readonly code: string;
  readonly message: string;
}

function knownFault(error: unknown, writing: boolean): KnownFault | undefined {
  if ((error as { code?: unknown } | null)?.code === LOCK_NOT_AVAILABLE) {
    return {
      logged: 'lock wait bounded',
      status: 503,
      code: 'unavailable',
      message: 'what this request needs stayed locked by other work for too long; it changed nothing and is safe to retry',
    };
  }
  if (writing && lostInFlight(error)) {
    // A write the code did not settle itself (`writeOnce`, `transactionOrUnknown`): its
    // connection went with a statement on the wire, which may have committed.
    return {
      logged: 'outcome unknown',
      status: 502,
      code: 'outcome_unknown',
      message:
        'the connection to a database was lost while this request was writing: it may or may not have been applied; retry with the same Idempotency-Key, or read before writing again',
    };
  }
  if (isUnavailable(error)) {
    return {
      logged: 'unavailable',
      status: 503,
      code: 'unavailable',
      message: 'a database or the message broker cannot be reached right now; the request changed nothing it reported and is safe to retry',
    };
  }
  return undefined;
}
