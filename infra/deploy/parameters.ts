import { CHECKOUT_WAIT_MS, IDEMPOTENCY_RETENTION_S, LOG_RETENTION_S } from '../../layers/config/bounds';
import { MSK_CLUSTER_ARN } from '../../layers/config/msk-arn';

/**
 * The deploy's parameters (serverless.yml `params`, overridden by `--param name=value`), read
 * once and checked, so a typo fails the package with a sentence naming it instead of a
 * CloudFormation error half-way through a deploy.
 */
export type Infrastructure = 'create' | 'existing';

export interface DeployParameters {
  readonly service: string;
  readonly stage: string;
  readonly infrastructure: Infrastructure;
  readonly shards: { readonly order: number; readonly stock: number; readonly payment: number };
  readonly kafkaPartitions: number;
  /** Created infrastructure's sizes. */
  readonly kafkaInstanceType: string;
  readonly kafkaVersion: string;
  readonly databaseInstanceClass: string;
  readonly databaseStorageGiB: number;
  /** Each shard a Multi-AZ DB instance: a synchronous standby in another zone, promoted by RDS (60-120 s). */
  readonly databaseMultiAz: boolean;
  readonly postgresVersion: string;
  /** Each resolver run must end within its 70 s timeout, before the next one a minute later. */
  readonly resolverRunMs: number;
  /** A checkout's waits (twice this, at most) must end within the functions' 28 s. */
  readonly checkoutTimeoutMs: number;
  /** Long enough that a late Prepare is refused before its record may go (`lateRefusal`). */
  readonly logRetentionS: number;
  /** A day at least: clients retry within minutes, and a key forgotten makes its retry a new write. */
  readonly idempotencyRetentionS: number;
  /** Each shard's `max_connections`: the functions' concurrency is bounded to stay below it (connection-budget.ts). */
  readonly databaseMaxConnections: number;
  /** The consumer lag (records) past which a Kafka-triggered function's alarm fires (alarms.ts). */
  readonly offsetLagAlarmThreshold: number;
  /** An SNS topic the alarms notify; without it they only change state. */
  readonly alarmTopicArn?: string;
  /** Existing infrastructure: where the functions run and which MSK cluster they use. */
  readonly existing?: {
    readonly subnetIds: readonly string[];
    readonly securityGroupIds: readonly string[];
    readonly mskClusterArn: string;
  };
}

/** Resolves one `${...}` expression the way Serverless does (`param:x`, `sls:stage`, `self:service`). */
export type Resolve = (expression: string) => Promise<unknown>;

function text(name: string, value: unknown): string {
  if (typeof value === 'string' || typeof value === 'number') return String(value).trim();
  throw new Error(`parameter ${name} must be a string, got ${JSON.stringify(value)}`);
}

function wholeNumber(name: string, value: unknown, min: number, max: number): number {
  const raw = text(name, value);
  const number = Number(raw);
  if (!Number.isInteger(number) || number < min || number > max) {
    throw new Error(`parameter ${name}=${raw} is not a whole number from ${min} to ${max}`);
  }
  return number;
}

function yesOrNo(name: string, value: unknown): boolean {
  const raw = text(name, value);
  if (raw !== 'true' && raw !== 'false') throw new Error(`parameter ${name}=${raw} is neither true nor false`);
  return raw === 'true';
}

function list(name: string, value: unknown, pattern: RegExp): string[] {
  const items = text(name, value)
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean);
  if (items.length === 0) throw new Error(`parameter ${name} is required when infrastructure=existing`);
  const bad = items.find((item) => !pattern.test(item));
  if (bad) throw new Error(`parameter ${name}: ${bad} does not look like ${pattern.source}`);
  return items;
}

/** `alarmTopicArn`: empty (no notifications) or an SNS topic's ARN. */
function alarmTopic(arn: string): { alarmTopicArn?: string } {
  if (arn === '') return {};
  if (!/^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[\w-]{1,256}$/.test(arn)) {
    throw new Error(
      `parameter alarmTopicArn=${arn} is not an SNS topic ARN (arn:aws:sns:<region>:<account>:<name>), or empty for no notifications`,
    );
  }
  return { alarmTopicArn: arn };
}

export async function readDeployParameters(resolve: Resolve): Promise<DeployParameters> {
  const param = (name: string) => resolve(`param:${name}`);
  const infrastructure = text('infrastructure', await param('infrastructure'));
  if (infrastructure !== 'create' && infrastructure !== 'existing') {
    throw new Error(`parameter infrastructure=${infrastructure} must be create or existing`);
  }
  const shards = {
    order: wholeNumber('orderShards', await param('orderShards'), 1, 16),
    stock: wholeNumber('stockShards', await param('stockShards'), 1, 16),
    payment: wholeNumber('paymentShards', await param('paymentShards'), 1, 16),
  };
  const common = {
    service: text('service', await resolve('self:service')),
    stage: text('stage', await resolve('sls:stage')),
    infrastructure,
    shards,
    kafkaPartitions: wholeNumber('kafkaPartitions', await param('kafkaPartitions'), 1, 1000),
    kafkaInstanceType: text('kafkaInstanceType', await param('kafkaInstanceType')),
    kafkaVersion: text('kafkaVersion', await param('kafkaVersion')),
    databaseInstanceClass: text('databaseInstanceClass', await param('databaseInstanceClass')),
    databaseStorageGiB: wholeNumber('databaseStorageGiB', await param('databaseStorageGiB'), 20, 65536),
    databaseMultiAz: yesOrNo('databaseMultiAz', await param('databaseMultiAz')),
    postgresVersion: text('postgresVersion', await param('postgresVersion')),
    resolverRunMs: wholeNumber('resolverRunMs', await param('resolverRunMs'), 0, 60_000),
    checkoutTimeoutMs: wholeNumber('checkoutTimeoutMs', await param('checkoutTimeoutMs'), CHECKOUT_WAIT_MS.min, CHECKOUT_WAIT_MS.max),
    logRetentionS: wholeNumber('logRetentionS', await param('logRetentionS'), LOG_RETENTION_S.min, LOG_RETENTION_S.max),
    idempotencyRetentionS: wholeNumber(
      'idempotencyRetentionS',
      await param('idempotencyRetentionS'),
      IDEMPOTENCY_RETENTION_S.min,
      IDEMPOTENCY_RETENTION_S.max,
    ),
    databaseMaxConnections: wholeNumber('databaseMaxConnections', await param('databaseMaxConnections'), 20, 100_000),
    offsetLagAlarmThreshold: wholeNumber('offsetLagAlarmThreshold', await param('offsetLagAlarmThreshold'), 1, 1_000_000_000),
    ...alarmTopic(text('alarmTopicArn', await param('alarmTopicArn'))),
  } as const;
  if (infrastructure === 'create') return common;

  const mskClusterArn = text('existingMskClusterArn', await param('existingMskClusterArn'));
  if (!MSK_CLUSTER_ARN.test(mskClusterArn)) {
    throw new Error(
      `parameter existingMskClusterArn=${mskClusterArn} is not an MSK cluster ARN (arn:aws:kafka:<region>:<account>:cluster/<name>/<id>)`,
    );
  }
  return {
    ...common,
    existing: {
      subnetIds: list('existingSubnetIds', await param('existingSubnetIds'), /^subnet-[0-9a-f]+$/),
      securityGroupIds: list('existingSecurityGroupIds', await param('existingSecurityGroupIds'), /^sg-[0-9a-f]+$/),
      mskClusterArn,
    },
  };
}
