/**
 * Reads the `kafka` and `msk` events of serverless.yml into what the local consumers need.
 * Pure: it only looks at the (already variable-resolved) service object it is given.
 */
import type { KafkaEventSource } from './event';

/** Where a new consumer group starts reading, as in the event source mapping. */
export type StartingPosition = 'LATEST' | 'TRIM_HORIZON' | 'AT_TIMESTAMP';

/** One enabled `kafka`/`msk` event of one function, ready to be consumed locally. */
export interface KafkaEventSourceConfig {
  /** The function's key under `functions:` in serverless.yml. */
  readonly functionKey: string;
  /** The deployed (full) Lambda name, which serverless-offline's invoke endpoint expects. */
  readonly functionName: string;
  readonly source: KafkaEventSource;
  readonly topic: string;
  /** Brokers the local consumer connects to (also reported as the event's bootstrapServers). */
  readonly brokers: readonly string[];
  readonly batchSize: number;
  readonly maximumBatchingWindowMs: number;
  readonly startingPosition: StartingPosition;
  /** Milliseconds since the epoch; set when startingPosition is AT_TIMESTAMP. */
  readonly startingPositionTimestampMs?: number;
  readonly groupId: string;
  /** `functionResponseTypes: [ReportBatchItemFailures]`: the handler's partial batch responses are read. */
  readonly reportBatchItemFailures: boolean;
}

/** Plugin-wide settings from `custom.offlineKafka`. */
export interface OfflineKafkaSettings {
  /** Local brokers for `msk` events; when set they also replace `kafka` events' bootstrapServers. */
  readonly brokers?: readonly string[];
  /** How many partitions' batches one consumer hands to the function at the same time. */
  readonly partitionsConsumedConcurrently: number;
  /** How many members of each consumer group get partitions; the others stand by (assigner.ts). */
  readonly activeMembersPerGroup: number;
}

/** The slice of Serverless' `Service` class this module reads. */
export interface ServiceLike {
  readonly service: string | null | { name?: string };
  readonly custom?: Record<string, unknown> | null;
  getAllFunctions(): string[];
  getFunction(functionKey: string): { name?: string; events?: unknown[] | null };
}

/** Naming context serverless.yml itself does not hold (stage and region come from CLI/provider). */
export interface ReadContext {
  readonly stage: string;
  readonly region: string;
}

/** What was found: the sources to consume, and why any events were skipped. */
export interface ReadResult {
  readonly sources: KafkaEventSourceConfig[];
  readonly problems: string[];
}

/** AWS's defaults for Kafka event source mappings. */
export const AWS_DEFAULTS = {
  batchSize: 100,
  /** "For Amazon MSK, Self-managed Apache Kafka, [...] the default batching window is 500 ms." */
  maximumBatchingWindowMs: 500,
  /** What `serverless deploy` puts in the mapping when startingPosition is omitted. */
  startingPosition: 'TRIM_HORIZON' as StartingPosition,
} as const;

const DEFAULT_PARTITIONS_CONCURRENTLY = 10;
const DEFAULT_ACTIVE_MEMBERS = 1;
const MAX_BATCH_SIZE = 10_000;
const MAX_WINDOW_SECONDS = 300;
const STARTING_POSITIONS: readonly StartingPosition[] = ['LATEST', 'TRIM_HORIZON', 'AT_TIMESTAMP'];

type RawEvent = Record<string, unknown>;

/** The response types an event source mapping takes (`FunctionResponseTypes`). */
export const FUNCTION_RESPONSE_TYPES = ['ReportBatchItemFailures'] as const;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Accepts `["a:1", "b:2"]` or `"a:1,b:2"`; returns undefined when nothing usable is given. */
export function parseBrokerList(value: unknown): string[] | undefined {
  const parts = Array.isArray(value) ? value : typeof value === 'string' ? value.split(',') : [];
  const brokers = parts
    .filter((part): part is string => typeof part === 'string')
    .map((part) => part.trim())
    .filter(Boolean);
  return brokers.length > 0 ? brokers : undefined;
}

/** Reads `custom.offlineKafka`. */
export function readSettings(custom: ServiceLike['custom']): OfflineKafkaSettings {
  const raw = isRecord(custom) && isRecord(custom.offlineKafka) ? custom.offlineKafka : {};
  const positive = (value: unknown, fallback: number) => {
    const number = Number(value);
    return Number.isInteger(number) && number > 0 ? number : fallback;
  };
  return {
    brokers: parseBrokerList(raw.brokers),
    partitionsConsumedConcurrently: positive(raw.partitionsConsumedConcurrently, DEFAULT_PARTITIONS_CONCURRENTLY),
    activeMembersPerGroup: positive(raw.activeMembersPerGroup, DEFAULT_ACTIVE_MEMBERS),
  };
}

function serviceName(service: ServiceLike['service']): string {
  if (typeof service === 'string') return service;
  return service?.name ?? 'service';
}

function wholeNumberIn(value: unknown, min: number, max: number): number | undefined {
  return typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max ? value : undefined;
}

interface Candidate {
  readonly config: Omit<KafkaEventSourceConfig, 'groupId'>;
  readonly consumerGroupId?: string;
}

function readEvent(
  kind: 'kafka' | 'msk',
  raw: RawEvent,
  where: string,
  functionKey: string,
  functionName: string,
  settings: OfflineKafkaSettings,
  context: ReadContext,
  problems: string[],
): Candidate | undefined {
  if (raw.enabled === false) return undefined;

  const topic = typeof raw.topic === 'string' && raw.topic !== '' ? raw.topic : undefined;
  if (!topic) {
    problems.push(`${where}: no topic, event skipped`);
    return undefined;
  }

  const brokers = settings.brokers ?? (kind === 'kafka' ? parseBrokerList(raw.bootstrapServers) : undefined);
  if (!brokers) {
    problems.push(
      kind === 'msk'
        ? `${where}: an msk event needs local brokers in custom.offlineKafka.brokers, event skipped`
        : `${where}: no bootstrapServers, event skipped`,
    );
    return undefined;
  }

  let batchSize = AWS_DEFAULTS.batchSize as number;
  if (raw.batchSize !== undefined) {
    const value = wholeNumberIn(raw.batchSize, 1, MAX_BATCH_SIZE);
    if (value === undefined) problems.push(`${where}: batchSize ${String(raw.batchSize)} is not 1..${MAX_BATCH_SIZE}, using ${batchSize}`);
    else batchSize = value;
  }

  let maximumBatchingWindowMs = AWS_DEFAULTS.maximumBatchingWindowMs as number;
  if (raw.maximumBatchingWindow !== undefined) {
    const seconds = wholeNumberIn(raw.maximumBatchingWindow, 0, MAX_WINDOW_SECONDS);
    if (seconds === undefined) {
      problems.push(
        `${where}: maximumBatchingWindow ${String(raw.maximumBatchingWindow)} is not 0..${MAX_WINDOW_SECONDS} seconds, using ${maximumBatchingWindowMs} ms`,
      );
    } else maximumBatchingWindowMs = seconds * 1000;
  }

  let startingPosition = AWS_DEFAULTS.startingPosition;
  if (raw.startingPosition !== undefined) {
    if (STARTING_POSITIONS.includes(raw.startingPosition as StartingPosition)) startingPosition = raw.startingPosition as StartingPosition;
    else problems.push(`${where}: startingPosition ${String(raw.startingPosition)} is unknown, using ${startingPosition}`);
  }

  let startingPositionTimestampMs: number | undefined;
  if (startingPosition === 'AT_TIMESTAMP') {
    // serverless.yml gives seconds, as CloudFormation's StartingPositionTimestamp does.
    if (typeof raw.startingPositionTimestamp !== 'number') {
      problems.push(`${where}: AT_TIMESTAMP needs startingPositionTimestamp, event skipped`);
      return undefined;
    }
    startingPositionTimestampMs = Math.round(raw.startingPositionTimestamp * 1000);
  }

  let reportBatchItemFailures = false;
  if (raw.functionResponseTypes !== undefined) {
    const types = Array.isArray(raw.functionResponseTypes) ? raw.functionResponseTypes : [raw.functionResponseTypes];
    const unknown = types.filter((type) => !FUNCTION_RESPONSE_TYPES.includes(type as (typeof FUNCTION_RESPONSE_TYPES)[number]));
    if (unknown.length > 0) problems.push(`${where}: functionResponseTypes ${unknown.map(String).join(', ')} unknown, ignored`);
    reportBatchItemFailures = types.includes('ReportBatchItemFailures');
  }

  const source: KafkaEventSource =
    kind === 'msk'
      ? { kind: 'msk', arn: mskArn(raw.arn, context, functionKey), bootstrapServers: brokers }
      : { kind: 'self-managed', bootstrapServers: brokers };

  return {
    config: {
      functionKey,
      functionName,
      source,
      topic,
      brokers,
      batchSize,
      maximumBatchingWindowMs,
      startingPosition,
      ...(startingPositionTimestampMs === undefined ? {} : { startingPositionTimestampMs }),
      reportBatchItemFailures,
    },
    consumerGroupId: typeof raw.consumerGroupId === 'string' && raw.consumerGroupId !== '' ? raw.consumerGroupId : undefined,
  };
}

/** The ARN to report; a CloudFormation reference cannot be resolved offline, so a stand-in is made. */
function mskArn(arn: unknown, context: ReadContext, functionKey: string): string {
  if (typeof arn === 'string' && arn.startsWith('arn:')) return arn;
  return `arn:aws:kafka:${context.region}:000000000000:cluster/offline-${functionKey}/00000000-0000-0000-0000-000000000000-1`;
}

/**
 * Every enabled `kafka` and `msk` event of every function.
 * Consumer groups default to `<service>-<stage>-<functionKey>`, shared by every serverless-offline
 * instance of the service so that they split the partitions the way pollers of one mapping do.
 */
export function readKafkaEventSources(service: ServiceLike, context: ReadContext): ReadResult {
  const settings = readSettings(service.custom);
  const problems: string[] = [];
  const sources: KafkaEventSourceConfig[] = [];
  const prefix = `${serviceName(service.service)}-${context.stage}`;

  for (const functionKey of service.getAllFunctions()) {
    const definition = service.getFunction(functionKey);
    const functionName = definition.name ?? `${prefix}-${functionKey}`;
    const candidates: Candidate[] = [];
    (definition.events ?? []).forEach((event, index) => {
      if (!isRecord(event)) return;
      for (const kind of ['kafka', 'msk'] as const) {
        const raw = event[kind];
        if (!isRecord(raw)) continue;
        const where = `function ${functionKey}, event ${index + 1} (${kind})`;
        const candidate = readEvent(kind, raw, where, functionKey, functionName, settings, context, problems);
        if (candidate) candidates.push(candidate);
      }
    });

    // Each event is its own mapping on AWS; two events must not share a default group, or the
    // group's members would subscribe to different topics and kafkajs would mis-assign them.
    const defaultGroup = `${prefix}-${functionKey}`;
    const needsSuffix = candidates.filter((candidate) => !candidate.consumerGroupId).length > 1;
    const taken = new Set<string>();
    for (const candidate of candidates) {
      let groupId = candidate.consumerGroupId ?? (needsSuffix ? `${defaultGroup}-${candidate.config.topic}` : defaultGroup);
      for (let n = 2; !candidate.consumerGroupId && taken.has(groupId); n++) groupId = `${defaultGroup}-${candidate.config.topic}-${n}`;
      taken.add(groupId);
      sources.push({ ...candidate.config, groupId });
    }
  }
  return { sources, problems };
}
