import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { serviceName } from '../config/service';
import { logger } from './logger';
import { metricDimensions, METRICS_NAMESPACE } from './metric-names';

export { METRIC, METRICS_NAMESPACE } from './metric-names';
export { MetricUnit };

/**
 * Metrics' own diagnostics, through the functions' logger. "No application metrics to publish" is
 * what most invocations have to say (a batch without a dead letter), so it is only a debug line.
 */
const NOTHING_TO_PUBLISH = 'No application metrics to publish';
const say =
  (level: 'debug' | 'info' | 'warn' | 'error') =>
  (message: unknown, ...detail: unknown[]): void => {
    const text = String(message);
    const at = level === 'warn' && text.startsWith(NOTHING_TO_PUBLISH) ? 'debug' : level;
    if (detail.length > 0) logger[at](text, { detail });
    else logger[at](text);
  };

/**
 * The functions' own CloudWatch metrics, written as EMF lines on stdout that CloudWatch Logs turns
 * into metrics (no API call, no permission). A handler that adds any flushes them at the end of
 * its invocation with `logMetrics(metrics)` (`@aws-lambda-powertools/metrics/middleware`).
 *
 * Emitted on AWS only: serverless.yml sets POWERTOOLS_METRICS_DISABLED=true for stage `local`,
 * where nothing would read them. The alarms (infra/deploy/alarms.ts) name the same namespace,
 * metric names and dimensions (metric-names.ts): `service` (POWERTOOLS_SERVICE_NAME) and `stage`
 * (STAGE).
 */
export const metrics = new Metrics({
  namespace: METRICS_NAMESPACE,
  serviceName: serviceName(),
  defaultDimensions: metricDimensions(),
  logger: { debug: say('debug'), info: say('info'), warn: say('warn'), error: say('error') },
});
