import { parseSlotMap, type SlotMap } from '../sharding/slots';
/**
 * The messages of the two-phase commit. Instructions go from the coordinator (the order
 * service) to a participant shard; results (votes and acknowledgements) come back. Every one
 * names its transaction, so a participant can apply it at most once, and its order, whose
 * shard holds the transaction's log.
 */

import type { ParticipantService } from '../config/services';

/** A participant: one shard of stock or payment, e.g. `stock-1`. */
export type ParticipantId = `${ParticipantService}-${number}`;

/** The participant that is shard `shard` of `service`. */
export function participantOf(service: ParticipantService, shard: number): ParticipantId {
  return `${service}-${shard}`;
}

/** The service and shard a participant id names (the one place that reads its text). */
export function parseParticipant(participant: ParticipantId): { readonly service: ParticipantService; readonly shard: number } {
  const dash = participant.lastIndexOf('-');
  return { service: participant.slice(0, dash) as ParticipantService, shard: Number(participant.slice(dash + 1)) };
}

export interface StockLine {
  readonly itemId: string;
  readonly quantity: number;
}

export interface PrepareStock {
  readonly kind: 'prepare';
  readonly txnId: string;
  readonly orderId: string;
  readonly participant: ParticipantId;
  /** When the coordinator gives up on the transaction (ms since the epoch); see `isTooLate`. */
  readonly deadline: number;
  readonly items: readonly StockLine[];
}

export interface PreparePayment {
  readonly kind: 'prepare';
  readonly txnId: string;
  readonly orderId: string;
  readonly participant: ParticipantId;
  /** When the coordinator gives up on the transaction (ms since the epoch); see `isTooLate`. */
  readonly deadline: number;
  readonly userId: string;
  readonly amount: number;
}

export interface Decide {
  readonly kind: 'commit' | 'rollback';
  readonly txnId: string;
  readonly orderId: string;
  readonly participant: ParticipantId;
}

export type Instruction = PrepareStock | PreparePayment | Decide;

/** The instructions a shard of each participant service takes: that service's kind of prepare, and the decisions. */
interface ServiceInstructions {
  readonly stock: PrepareStock | Decide;
  readonly payment: PreparePayment | Decide;
}
export type InstructionOf<S extends ParticipantService> = ServiceInstructions[S];

/**
 * Whether the instruction is addressed to a shard of `service`, and so is one of its kind:
 * `decodeInstruction` reads a prepare's fields by the service its participant names.
 */
export const isInstructionOf = <S extends ParticipantService>(instruction: Instruction, service: S): instruction is InstructionOf<S> =>
  parseParticipant(instruction.participant).service === service;

/**
 * Why a participant voted no: it decides the HTTP status of the aborted checkout. `moved`: the
 * key's slot is not on that shard (a stale map, or a move in progress); the checkout starts over.
 */
export const REFUSALS = ['not_found', 'insufficient', 'rolled_back', 'moved'] as const;
export type Refusal = (typeof REFUSALS)[number];

/**
 * The refusals that are the buyer's answer (the checkout replies 404 or 409): an item or user
 * that does not exist, or not enough stock or credit. A prepare rolled back before it arrived is
 * not: that checkout was not decided in time.
 */
export const BUYER_REFUSALS = ['not_found', 'insufficient'] as const satisfies readonly Refusal[];
export type BuyerRefusal = (typeof BUYER_REFUSALS)[number];

export const isBuyerRefusal = (reason: unknown): reason is BuyerRefusal => (BUYER_REFUSALS as readonly unknown[]).includes(reason);

export interface Vote {
  readonly kind: 'vote';
  readonly txnId: string;
  readonly orderId: string;
  readonly participant: ParticipantId;
  readonly vote: 'yes' | 'no';
  readonly refusal?: Refusal;
  readonly detail?: string;
  /**
   * On a `moved` refusal, the participant shard's own copy of its service's slot map: newer than
   * the published one while a mover holds maps back, or died before publishing them. The
   * coordinator routes the checkout's retry by the newer of the two.
   */
  readonly map?: SlotMap;
}

export interface Ack {
  readonly kind: 'ack';
  readonly txnId: string;
  readonly orderId: string;
  readonly participant: ParticipantId;
  readonly decision: 'commit' | 'rollback';
}

export type Result = Vote | Ack;

/** A message that does not decode: it is parked, never retried. */
export class MalformedMessageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MalformedMessageError';
  }
}

export const isMalformed = (error: unknown): error is MalformedMessageError => error instanceof MalformedMessageError;

const ID = /^[A-Za-z0-9_-]{1,128}$/;
const PARTICIPANT = /^(stock|payment)-\d{1,3}$/;

function field<T>(object: Record<string, unknown>, name: string, check: (value: unknown) => boolean, what: string): T {
  const value = object[name];
  if (!check(value)) throw new MalformedMessageError(`${name} is not ${what}`);
  return value as T;
}

const isId = (value: unknown) => typeof value === 'string' && ID.test(value);
const isParticipant = (value: unknown) => typeof value === 'string' && PARTICIPANT.test(value);
const isAmount = (value: unknown) => Number.isSafeInteger(value) && (value as number) >= 0;
const isQuantity = (value: unknown) => Number.isSafeInteger(value) && (value as number) > 0;

function parseObject(text: string | undefined): Record<string, unknown> {
  if (text === undefined) throw new MalformedMessageError('the record has no value');
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new MalformedMessageError('the value is not JSON');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    throw new MalformedMessageError('the value is not a JSON object');
  return parsed as Record<string, unknown>;
}

/**
 * A record of an instruction topic: its instruction, then the decisions for the same participant
 * it carries (`decisions`, see `decisionRecords`). Throws `MalformedMessageError` naming what is
 * wrong with any of them.
 */
export function decodeInstructions(text: string | undefined): Instruction[] {
  const object = parseObject(text);
  const first = instructionFrom(object);
  const carried = object.decisions === undefined ? [] : field<unknown[]>(object, 'decisions', Array.isArray, 'a list of decisions');
  return [
    first,
    ...carried.map((decision) => {
      if (typeof decision !== 'object' || decision === null) throw new MalformedMessageError('a carried decision is not an object');
      const instruction = instructionFrom(decision as Record<string, unknown>);
      if (instruction.kind === 'prepare') throw new MalformedMessageError('a carried decision is a prepare');
      if (instruction.participant !== first.participant)
        throw new MalformedMessageError(`a carried decision is for ${instruction.participant}, not ${first.participant}`);
      return instruction;
    }),
  ];
}

function instructionFrom(object: Record<string, unknown>): Instruction {
  const kind = field<string>(object, 'kind', (v) => v === 'prepare' || v === 'commit' || v === 'rollback', 'prepare, commit or rollback');
  const txnId = field<string>(object, 'txnId', isId, 'a transaction id');
  const orderId = field<string>(object, 'orderId', isId, 'an order id');
  const participant = field<ParticipantId>(object, 'participant', isParticipant, 'a participant like stock-0');
  if (kind !== 'prepare') return { kind: kind as Decide['kind'], txnId, orderId, participant };
  const deadline = field<number>(object, 'deadline', isAmount, 'a deadline in milliseconds since the epoch');
  const prepare = { kind: 'prepare' as const, txnId, orderId, participant, deadline };
  if (parseParticipant(participant).service === 'stock') {
    const items = field<unknown[]>(object, 'items', Array.isArray, 'a list of items');
    return {
      ...prepare,
      items: items.map((line) => {
        if (typeof line !== 'object' || line === null) throw new MalformedMessageError('an item line is not an object');
        const record = line as Record<string, unknown>;
        return {
          itemId: field<string>(record, 'itemId', isId, 'an item id'),
          quantity: field<number>(record, 'quantity', isQuantity, 'a positive whole quantity'),
        };
      }),
    };
  }
  return {
    ...prepare,
    userId: field<string>(object, 'userId', isId, 'a user id'),
    amount: field<number>(object, 'amount', isAmount, 'a whole amount of at least 0'),
  };
}

/**
 * A record of the results topic: its result, then the others it carries (`results`, see
 * `resultRecords`). Throws `MalformedMessageError` naming what is wrong with any of them.
 */
export function decodeResults(text: string | undefined): Result[] {
  const object = parseObject(text);
  const carried = object.results === undefined ? [] : field<unknown[]>(object, 'results', Array.isArray, 'a list of results');
  return [
    resultFrom(object),
    ...carried.map((result) => {
      if (typeof result !== 'object' || result === null || Array.isArray(result))
        throw new MalformedMessageError('a carried result is not an object');
      return resultFrom(result as Record<string, unknown>);
    }),
  ];
}

function resultFrom(object: Record<string, unknown>): Result {
  const kind = field<Result['kind']>(object, 'kind', (v) => v === 'vote' || v === 'ack', 'vote or ack');
  const txnId = field<string>(object, 'txnId', isId, 'a transaction id');
  const orderId = field<string>(object, 'orderId', isId, 'an order id');
  const participant = field<ParticipantId>(object, 'participant', isParticipant, 'a participant like stock-0');
  if (kind === 'ack') {
    const decision = field<Ack['decision']>(object, 'decision', (v) => v === 'commit' || v === 'rollback', 'commit or rollback');
    return { kind: 'ack', txnId, orderId, participant, decision };
  }
  const vote = field<Vote['vote']>(object, 'vote', (v) => v === 'yes' || v === 'no', 'yes or no');
  if (vote === 'yes') return { kind: 'vote', txnId, orderId, participant, vote };
  const refusal = field<Refusal>(object, 'refusal', (v) => (REFUSALS as readonly unknown[]).includes(v), REFUSALS.join(', '));
  const detail = typeof object.detail === 'string' ? object.detail.slice(0, 500) : undefined;
  const map = refusal === 'moved' && object.map !== undefined ? slotMapField(object.map) : undefined;
  return {
    kind: 'vote',
    txnId,
    orderId,
    participant,
    vote,
    refusal,
    ...(detail === undefined ? {} : { detail }),
    ...(map === undefined ? {} : { map }),
  };
}

function slotMapField(value: unknown): SlotMap {
  try {
    return parseSlotMap(value);
  } catch {
    throw new MalformedMessageError('map is not a slot map');
  }
}

export const encode = (message: Instruction | Result): string => JSON.stringify(message);

/**
 * How many bytes of messages one record carries at most: far below Kafka's 1 MB record batch, so
 * the records one send puts in a partition still fit together. A message larger than this alone
 * (a `moved` vote with a big map) makes a record of its own.
 */
export const RECORD_BYTES = 64 * 1024;

/**
 * Messages in as few records as hold them: the first of each record as its own, the others
 * beside it under `field`, which the decoder reads back in order. Each message is encoded once.
 */
function packRecords<M extends { readonly txnId: string }>(
  messages: readonly M[],
  field: 'results' | 'decisions',
): { key: string; value: string }[] {
  const records: { key: string; value: string }[] = [];
  let open: { key: string; head: string; rest: string[]; bytes: number } | undefined;
  const close = () => {
    if (!open) return;
    const { key, head, rest } = open;
    records.push({ key, value: rest.length === 0 ? head : `${head.slice(0, -1)},"${field}":[${rest.join(',')}]}` });
    open = undefined;
  };
  for (const message of messages) {
    const text = JSON.stringify(message);
    if (open && open.bytes + text.length + 1 > RECORD_BYTES) close();
    if (open) {
      open.rest.push(text);
      open.bytes += text.length + 1;
    } else open = { key: message.txnId, head: text, rest: [], bytes: text.length + `,"${field}":[]`.length };
  }
  close();
  return records;
}

/**
 * Decisions for one participant, in as few records as hold them (`decisions` beside the first of
 * each), so that each need not be a record of its own (`layers/coordinator/held-commits.ts`).
 */
export const decisionRecords = (decisions: readonly Decide[]) => packRecords(decisions, 'decisions');

/**
 * Results in as few records as hold them (`results` beside the first of each): a participant's
 * batch sends its votes and acknowledgements so, with the acknowledgements it held back
 * (`layers/participant/held-acks.ts`).
 */
export const resultRecords = (results: readonly Result[]) => packRecords(results, 'results');
