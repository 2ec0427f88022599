import type middy from '@middy/core';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { AppError } from '../errors';
import { jsonReply } from './reply';
import { isUnavailable } from './unavailable';
import { LOCK_NOT_AVAILABLE } from '../db/bounded-locks';
import { describe, logger } from '../logging/logger';

type Request = middy.Request<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2>;

/**
 * Maps the error hierarchy to replies in one place: an `AppError` shows its own message and
 * status; a database or the broker out of reach, or a lock waited for past its bound, is a 503
 * (try again); anything else is logged whole and answered with a generic 500. No internal
 * detail (SQL, hosts, stack traces) ever reaches a client.
 */
export function httpErrorHandler(): middy.MiddlewareObj<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2> {
  const httpErrorHandlerOnError = async (request: Request): Promise<void> => {
    const { error } = request;
    if (error instanceof AppError) {
      request.response = jsonReply(error.status, { error: error.message });
      return;
    }
    if ((error as { code?: unknown } | null)?.code === LOCK_NOT_AVAILABLE) {
      logger.warn('lock wait bounded', { route: request.event.routeKey, error: describe(error) });
      request.response = jsonReply(503, { error: 'what this request needs stayed locked by other work for too long; it changed nothing and is safe to retry' });
      return;
    }
    if (isUnavailable(error)) {
      logger.warn('unavailable', { route: request.event.routeKey, error: describe(error) });
      request.response = jsonReply(503, { error: 'a database or the message broker cannot be reached right now; the request changed nothing it reported and is safe to retry' });
      return;
    }
    logger.error('internal error', { route: request.event.routeKey, error: describe(error), stack: (error as Error | null)?.stack });
    request.response = jsonReply(500, { error: 'internal error; the request changed nothing it reported and is safe to retry' });
  };
  return { onError: httpErrorHandlerOnError };
}
