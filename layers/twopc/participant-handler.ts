import type { ShardSet } from '../db/shards';
import type { KafkaConnection } from '../kafka/connection';
import { parkRecord } from '../kafka/dead-letters';
import { addToOutbox, type Outbox, sendOutbox } from '../kafka/producer';
import type { DecodedRecord } from '../kafka/records';
import { TOPICS } from '../kafka/topics';
import { decodeInstruction, encode, type Instruction, MalformedMessageError } from './messages';
import { applyOnShard, type Ledger } from './participant-batch';

export interface ParticipantService<Held> {
  readonly service: 'stock' | 'payment';
  readonly shards: ShardSet;
  readonly kafka: KafkaConnection;
  readonly newLedger: () => Ledger<Instruction, Held>;
}

/**
 * A participant's Kafka handler: decodes the batch, applies it shard by shard (one local
 * transaction each, all shards at once), then sends every vote and acknowledgement in one
 * request. A record that does not decode, or names a shard this service does not have, is
 * parked. If a shard fails, the others' replies are still sent, then the whole batch fails and
 * comes again; the participation records make the repeat harmless.
 */
export async function handleInstructions<Held>(records: readonly DecodedRecord[], service: ParticipantService<Held>): Promise<void> {
  const outbox: Outbox = new Map();
  const byShard = new Map<number, Instruction[]>();
  for (const record of records) {
    try {
      const instruction = decodeInstruction(record.value);
      const [owner, shardText] = instruction.participant.split('-') as [string, string];
      const shard = Number(shardText);
      if (owner !== service.service || shard >= service.shards.count) {
        throw new MalformedMessageError(`${instruction.participant} is not a shard of this ${service.service} service`);
      }
      const list = byShard.get(shard);
      if (list) list.push(instruction);
      else byShard.set(shard, [instruction]);
    } catch (error) {
      if (!(error instanceof MalformedMessageError)) throw error;
      parkRecord(outbox, record, error.message);
    }
  }

  // Every shard's transaction runs to its end; the votes of those that committed leave even
  // when another shard failed, so one shard in trouble does not hold back the others' checkouts.
  const outcomes = await Promise.allSettled(
    [...byShard].map(([shard, instructions]) => applyOnShard(service.shards.at(shard), instructions, service.newLedger)),
  );
  for (const outcome of outcomes) {
    if (outcome.status === 'rejected') continue;
    const { replies, violations } = outcome.value;
    for (const reply of replies) addToOutbox(outbox, TOPICS.results, { key: reply.txnId, value: encode(reply) });
    for (const { instruction, violation } of violations) {
      console.error(JSON.stringify({ level: 'error', msg: 'protocol violation', violation, instruction }));
      addToOutbox(outbox, TOPICS.deadLetters, { key: instruction.txnId, value: encode(instruction), headers: { 'x-reason': violation } });
    }
  }
  await sendOutbox(service.kafka, outbox);
  // The batch then fails and comes again: the shards that applied answer from their records.
  const failed = outcomes.find((outcome): outcome is PromiseRejectedResult => outcome.status === 'rejected');
  if (failed) throw failed.reason;
}
