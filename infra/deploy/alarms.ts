import { METRIC, METRICS_NAMESPACE } from '../../layers/logging/metric-names';
import { type Resources, lambdaLogicalId, ref, type TemplateString } from './cloudformation';
import { CONSUMERS } from './iam';
import type { DeployParameters } from './parameters';

/**
 * The alarms an operator watches first (docs/aws.md, "Metrics and alarms"):
 * - `DeadLettersAlarm`: a record was parked on the dead-letter topic (the functions' `DeadLetters`);
 * - `<Consumer>OffsetLagAlarm`: a Kafka-triggered function falls behind its topics (Lambda's own
 *   `OffsetLag` of its MSK event source mappings), one per consumer function;
 * - `UndecidedPastDeadlineAlarm`: transactions keep going past their deadline undecided, minute
 *   after minute (the resolver's `UndecidedPastDeadline`, the ones it found and aborted);
 * - `OldestUndecidedAgeAlarm`: a transaction stays undecided well past its deadline, the resolver
 *   not getting it aborted, or the resolver reports nothing at all (`OldestUndecidedAgeMs`).
 * With `alarmTopicArn`, each notifies that SNS topic when it fires and when it clears.
 */
export const ALARM = {
  deadLetters: 'DeadLettersAlarm',
  undecidedPastDeadline: 'UndecidedPastDeadlineAlarm',
  oldestUndecidedAge: 'OldestUndecidedAgeAlarm',
} as const;

/** The logical id of a consumer function's lag alarm (`orderResults` → `OrderResultsOffsetLagAlarm`). */
export const offsetLagAlarmId = (functionKey: string) => `${functionKey[0]!.toUpperCase()}${functionKey.slice(1)}OffsetLagAlarm`;

/** Consecutive minutes a consumer's lag must stay above the threshold: the pollers take a few minutes to scale out. */
export const OFFSET_LAG_MINUTES = 5;

/**
 * How old the oldest undecided transaction may get before its alarm fires: three checkout
 * timeouts, at least 10 s. A pass aborts everything past its deadline (claim + checkout timeout),
 * so what it leaves undecided is normally younger than one timeout.
 */
export function undecidedAgeAlarmMs(parameters: Pick<DeployParameters, 'checkoutTimeoutMs'>): number {
  return Math.max(3 * parameters.checkoutTimeoutMs, 10_000);
}

interface Watched {
  readonly namespace: string;
  readonly metric: string;
  readonly dimensions: Readonly<Record<string, TemplateString>>;
  readonly statistic: 'Sum' | 'Maximum';
  readonly periodS: number;
  /** Consecutive periods over the threshold. */
  readonly periods: number;
  readonly threshold: number;
  /** `notBreaching` for counts (nothing emitted: nothing happened); `breaching` where silence is the fault. */
  readonly missing: 'notBreaching' | 'breaching';
}

function alarm(parameters: DeployParameters, name: string, description: string, watched: Watched) {
  const actions = parameters.alarmTopicArn ? { AlarmActions: [parameters.alarmTopicArn], OKActions: [parameters.alarmTopicArn] } : {};
  return {
    Type: 'AWS::CloudWatch::Alarm',
    Properties: {
      AlarmName: `${parameters.service}-${parameters.stage}-${name}`,
      AlarmDescription: description,
      Namespace: watched.namespace,
      MetricName: watched.metric,
      Dimensions: Object.entries(watched.dimensions).map(([Name, Value]) => ({ Name, Value })),
      Statistic: watched.statistic,
      Period: watched.periodS,
      EvaluationPeriods: watched.periods,
      DatapointsToAlarm: watched.periods,
      Threshold: watched.threshold,
      ComparisonOperator: 'GreaterThanThreshold',
      TreatMissingData: watched.missing,
      ...actions,
    },
  };
}

export function alarmResources(parameters: DeployParameters): Resources {
  // The dimensions every function's own metric carries (layers/logging/metrics.ts).
  const shop = { namespace: METRICS_NAMESPACE, dimensions: { service: parameters.service, stage: parameters.stage } };
  const ageMs = undecidedAgeAlarmMs(parameters);
  const consumers = [...new Set(CONSUMERS.map((consumer) => consumer.functionKey))];
  return {
    [ALARM.deadLetters]: alarm(
      parameters,
      'dead-letters',
      'A record was parked on the dead-letter topic: it did not decode or broke the protocol. Read it in the live view (/ops/) or the function logs ("record parked", "protocol violation").',
      { ...shop, metric: METRIC.deadLetters, statistic: 'Sum', periodS: 300, periods: 1, threshold: 0, missing: 'notBreaching' },
    ),
    [ALARM.undecidedPastDeadline]: alarm(
      parameters,
      'undecided-past-deadline',
      'For 2 minutes in a row the resolver found and aborted transactions undecided past their deadline: participants are not voting in time, or coordinators die mid-checkout.',
      { ...shop, metric: METRIC.undecidedPastDeadline, statistic: 'Sum', periodS: 60, periods: 2, threshold: 0, missing: 'notBreaching' },
    ),
    [ALARM.oldestUndecidedAge]: alarm(
      parameters,
      'oldest-undecided-age',
      `For 2 minutes in a row a transaction stayed undecided over ${ageMs} ms after its claim, or the resolver measured nothing: the resolver is not aborting what expired (failing passes, unreachable order shards).`,
      {
        ...shop,
        metric: METRIC.oldestUndecidedAgeMs,
        statistic: 'Maximum',
        periodS: 60,
        periods: 2,
        threshold: ageMs,
        missing: 'breaching',
      },
    ),
    ...Object.fromEntries(
      consumers.map((functionKey) => [
        offsetLagAlarmId(functionKey),
        alarm(
          parameters,
          `${functionKey}-offset-lag`,
          `${functionKey} has been more than ${parameters.offsetLagAlarmThreshold} records behind a topic it consumes for ${OFFSET_LAG_MINUTES} minutes: its batches fail and are retried, or it cannot keep up.`,
          {
            namespace: 'AWS/Lambda',
            metric: 'OffsetLag',
            dimensions: { FunctionName: ref(lambdaLogicalId(functionKey)) },
            statistic: 'Maximum',
            periodS: 60,
            periods: OFFSET_LAG_MINUTES,
            threshold: parameters.offsetLagAlarmThreshold,
            missing: 'notBreaching',
          },
        ),
      ]),
    ),
  };
}
