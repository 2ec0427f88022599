import { isRefusedLogin } from '../db/refused-login';
import type { ShardSet } from '../db/shards';
import type { KafkaConnection } from '../config/kafka';
import { addDeadLetter, decodeByShard, parkRecord } from '../kafka/dead-letters';
import { addToOutbox, type Outbox, sendOutbox } from '../kafka/producer';
import type { DecodedRecord } from '../kafka/records';
import { TOPICS } from '../kafka/topics';
import {
  type Ack,
  decodeInstructions,
  encode,
  resultRecords,
  type InstructionOf,
  isInstructionOf,
  isMalformed,
  MalformedMessageError,
  parseParticipant,
  type Result,
} from '../twopc/messages';
import type { HeldAcks } from './held-acks';
import { retiredShardReply } from '../twopc/participant-step';
import { applyOnShard, type Ledger } from './participant-batch';
import { describe, logger } from '../logging/logger';
import type { ParticipantService } from '../config/services';

/** What a participant service's instructions handler works with: its shards, its Kafka connection and its ledger. */
export interface ParticipantDeps<S extends ParticipantService, Held> {
  readonly service: S;
  readonly shards: ShardSet;
  readonly kafka: KafkaConnection;
  readonly newLedger: () => Ledger<InstructionOf<S>, Held>;
  /** The container's acknowledgements of commits not sent yet, carried on its next record. */
  readonly heldAcks: HeldAcks;
}

const RETRY_TOPIC = { stock: TOPICS.stockRetries, payment: TOPICS.paymentRetries } as const;

/**
 * A participant's Kafka handler: decodes the batch, applies it shard by shard (one local
 * transaction each, all shards at once), then sends every vote and acknowledgement of a
 * rollback in one record, with the acknowledgements of commits it held back riding along
 * (`HeldAcks`: with no record to ride on they wait a moment for the next batch's). A record
 * that does not decode, or names a shard this service does not have, is parked on the
 * dead-letter topic.
 *
 * A shard that fails does not hold back the others: its instructions go to the service's retry
 * topic (logged, with the number of attempts and the error), the rest of the batch completes,
 * and the retry topic's own consumer applies them once the shard is back. That reordering is
 * safe, as the protocol takes any order (`twopc/participant-step.ts`): a Commit is only ever sent
 * after this shard voted yes, so it cannot overtake its Prepare; a Rollback that overtakes it
 * leaves the mark that makes the late Prepare vote no. On the retry topic itself a failing shard
 * fails the batch, which the event source tries again with its backoff, holding up only retries.
 */
export async function handleInstructions<S extends ParticipantService, Held>(
  records: readonly DecodedRecord[],
  deps: ParticipantDeps<S, Held>,
): Promise<void> {
  const outbox: Outbox = new Map();
  const byShard = decodeByShard(
    outbox,
    records,
    (record) => {
      // A record's instructions are all for one participant (`decodeInstructions`).
      const instructions = decodeInstructions(record.value);
      const { participant } = instructions[0]!;
      if (!instructions.every((instruction) => isInstructionOf(instruction, deps.service)))
        throw new MalformedMessageError(`${participant} is not a shard of this ${deps.service} service`);
      return { value: instructions, shard: parseParticipant(participant).shard };
    },
    isMalformed,
  );
  // A coordinator that read a newer map may already route to a shard this container's map does not list yet.
  const knows = (shards: ShardSet, shard: number) => shards.indexes.includes(shard) || shards.map.retired.includes(shard);
  let shards = deps.shards;
  if ([...byShard.keys()].some((shard) => !knows(shards, shard))) shards = await shards.newer();
  for (const [shard, { records: unknown }] of byShard) {
    if (knows(shards, shard)) continue;
    for (const record of unknown) parkRecord(outbox, record, `${deps.service}-${shard} is not a shard of this ${deps.service} service`);
    byShard.delete(shard);
  }

  const groups = [...byShard];
  const outcomes = await Promise.allSettled(
    groups.map(async ([shard, { values }]) => {
      const instructions = values.flat();
      return shards.map.retired.includes(shard)
        ? { replies: instructions.map(retiredShardReply), violations: [] }
        : applyOnShard(shards.at(shard), { instructions, newLedger: deps.newLedger, slotOf: shards.slotOf });
    }),
  );
  const retryTopic = RETRY_TOPIC[deps.service];
  let failure: unknown;
  const replies: Result[] = [];
  outcomes.forEach((outcome, index) => {
    const [shard, { values, records: shardRecords }] = groups[index]!;
    if (outcome.status === 'rejected') {
      // A refused login fails the invocation, which runs again at once with the secrets read afresh.
      if (isRefusedLogin(outcome.reason) || shardRecords.some((record) => record.topic === retryTopic)) failure ??= outcome.reason;
      else for (const record of shardRecords) retryLater(outbox, retryTopic, record, `${deps.service}-${shard}`, outcome.reason);
      logger.error('shard could not apply its instructions', {
        shard: `${deps.service}-${shard}`,
        txnIds: values.flat().map((instruction) => instruction.txnId),
        error: describe(outcome.reason),
      });
      return;
    }
    const { replies: shardReplies, violations } = outcome.value;
    deps.heldAcks.hold(shardReplies.filter(isCommitAck));
    replies.push(...shardReplies.filter((reply) => !isCommitAck(reply)));
    for (const { instruction, violation } of violations) {
      logger.error('protocol violation', { txnId: instruction.txnId, violation, instruction });
      addDeadLetter(outbox, { key: instruction.txnId, value: encode(instruction), headers: { 'x-reason': violation } });
    }
  });
  // The held acknowledgements ride on this batch's replies, if it has any.
  const carried = replies.length > 0 ? deps.heldAcks.take() : [];
  queueResults(outbox, [...replies, ...carried]);
  try {
    await sendOutbox(deps.kafka, outbox);
  } catch (error) {
    deps.heldAcks.giveBack(carried);
    throw error;
  }
  deps.heldAcks.sendLater(
    (acks) => {
      const own: Outbox = new Map();
      queueResults(own, acks);
      return sendOutbox(deps.kafka, own);
    },
    (error) => logger.warn('acknowledgements of commits left to the resolver for now', { error: describe(error) }),
  );
  // On the retry topic the batch then fails and comes again: the shards that applied answer from their records.
  if (failure !== undefined) throw failure;
}

/** Puts the results in the outbox, as few records as hold them (`resultRecords`): the coordinator takes a record whole. */
function queueResults(outbox: Outbox, results: readonly Result[]): void {
  for (const record of resultRecords(results)) addToOutbox(outbox, TOPICS.results, record);
}

const isCommitAck = (reply: Result): reply is Ack => reply.kind === 'ack' && reply.decision === 'commit';

/** Sends the record on to the retry topic, unchanged, counting the attempts and keeping the last error. */
function retryLater(outbox: Outbox, topic: string, record: DecodedRecord, shard: string, error: unknown): void {
  const attempts = Number(record.headers['x-attempts'] ?? '0') + 1;
  addToOutbox(outbox, topic, {
    key: record.key ?? null,
    value: record.value ?? null,
    headers: {
      'x-attempts': String(attempts),
      'x-shard': shard,
      'x-error': String(error).slice(0, 500),
      'x-first-source': record.headers['x-first-source'] ?? `${record.topic}/${record.partition}/${record.offset}`,
    },
  });
}
