import { Logger } from '@aws-lambda-powertools/logger';
import { serviceName } from '../config/service';

/**
 * The one logger of every function, locally and on AWS: a JSON line per entry with its level,
 * message, time, service and, inside an invocation, the Lambda context (function, request id,
 * cold start); the fields of the entry (a transaction id, an order id, an error) as keys.
 * The level comes from POWERTOOLS_LOG_LEVEL (or Lambda's own log level), INFO by default.
 */
export const logger = new Logger({ serviceName: serviceName() });

/** An error as one line of text, for a log entry's `error` key. */
export function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
