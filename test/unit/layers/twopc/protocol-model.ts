import {
  type CoordinatorStep,
  coordinatorStep,
  pendingDecisions,
  timeoutStep,
  type Transaction,
} from '../../../../layers/twopc/coordinator-step';
import type { Instruction, ParticipantId, Result } from '../../../../layers/twopc/messages';
import { type Participation, participantStep } from '../../../../layers/twopc/participant-step';

/**
 * A model of one transaction: the coordinator and its participants running the real state
 * machines, connected by a network that delivers in any order and may deliver twice.
 */
export interface ParticipantModel {
  record: Participation | undefined;
  /** whether this participant has what the prepare asks for */
  readonly canReserve: boolean;
  reserved: number;
  released: number;
  kept: number;
}

export type Message =
  | { readonly to: 'coordinator'; readonly result: Result }
  | { readonly to: ParticipantId; readonly instruction: Instruction };

export interface World {
  txn: Transaction;
  decisions: ('commit' | 'abort')[];
  participants: Record<ParticipantId, ParticipantModel>;
  network: Message[];
  violations: string[];
  timedOut: boolean;
  resends: number;
  duplicates: number;
}

export function newWorld(canReserve: readonly boolean[]): World {
  const ids = canReserve.map((_, index) => (index === 0 ? 'payment-0' : `stock-${index - 1}`) as ParticipantId);
  const participants = {} as Record<ParticipantId, ParticipantModel>;
  ids.forEach((id, index) => {
    participants[id] = { record: undefined, canReserve: canReserve[index]!, reserved: 0, released: 0, kept: 0 };
  });
  return {
    txn: { txnId: 't1', orderId: 'o1', state: 'preparing', participants: ids, yes: [], acked: [] },
    decisions: [],
    participants,
    network: ids.map((id) => ({
      to: id,
      instruction: id.startsWith('payment')
        ? { kind: 'prepare', txnId: 't1', orderId: 'o1', participant: id, deadline: 1_800_000_000_000, userId: 'u', amount: 5 }
        : {
            kind: 'prepare',
            txnId: 't1',
            orderId: 'o1',
            participant: id,
            deadline: 1_800_000_000_000,
            items: [{ itemId: 'i', quantity: 1 }],
          },
    })),
    violations: [],
    timedOut: false,
    resends: 0,
    duplicates: 0,
  };
}

export const clone = (world: World): World => structuredClone(world);

function applyCoordinator(world: World, step: CoordinatorStep): void {
  if (step.violation) world.violations.push(step.violation);
  if (step.decided) world.decisions.push(step.decided);
  world.txn = step.txn;
  for (const instruction of step.send) world.network.push({ to: instruction.participant, instruction });
}

/** Delivers the network's message at `index`; with `duplicate` a copy stays in flight. */
export function deliver(world: World, index: number, duplicate = false): void {
  const message = world.network[index]!;
  if (duplicate) world.duplicates++;
  else world.network.splice(index, 1);
  if (message.to === 'coordinator') {
    applyCoordinator(world, coordinatorStep(world.txn, message.result));
    return;
  }
  const participant = world.participants[message.to];
  if (!participant) throw new Error(`no participant ${message.to}`);
  const step = participantStep(participant.record, message.instruction, () => {
    if (!participant.canReserve) return { ok: false, refusal: 'insufficient', detail: 'not enough' };
    participant.reserved++;
    return { ok: true };
  });
  if (step.violation) world.violations.push(step.violation);
  if (step.effect === 'release') participant.released++;
  if (step.effect === 'keep') participant.kept++;
  if (step.next) participant.record = step.next;
  if (step.reply) world.network.push({ to: 'coordinator', result: step.reply });
}

export function timeout(world: World): void {
  world.timedOut = true;
  applyCoordinator(world, timeoutStep(world.txn));
}

/** The resolver's pass: decisions owed to participants that have not acknowledged, sent again. */
export function resend(world: World): void {
  world.resends++;
  for (const instruction of pendingDecisions(world.txn)) world.network.push({ to: instruction.participant, instruction });
}

/** What must hold once every message has been delivered; returns the broken rules. */
export function brokenRules(world: World): string[] {
  const broken = [...world.violations];
  const members = Object.entries(world.participants) as [ParticipantId, ParticipantModel][];
  if (world.decisions.length !== 1) broken.push(`decided ${world.decisions.length} times: ${world.decisions.join(',')}`);
  if (world.txn.state === 'committed') {
    if (members.some(([, p]) => !p.canReserve)) broken.push('committed although a participant could not reserve');
    for (const [id, p] of members) {
      if (p.record?.state !== 'committed') broken.push(`${id} is ${p.record?.state} in a committed transaction`);
      if (p.reserved !== 1 || p.kept !== 1 || p.released !== 0)
        broken.push(`${id} reserved ${p.reserved}, kept ${p.kept}, released ${p.released}`);
    }
  } else {
    if (world.txn.state !== 'aborted') broken.push(`transaction left ${world.txn.state}`);
    for (const [id, p] of members) {
      if (p.record?.state !== 'aborted') broken.push(`${id} is ${p.record?.state} in an aborted transaction`);
      if (p.reserved !== p.released || p.kept !== 0) broken.push(`${id} holds ${p.reserved - p.released} after abort (kept ${p.kept})`);
    }
  }
  if (world.txn.acked.length !== members.length) broken.push(`acknowledged by ${world.txn.acked.length} of ${members.length}`);
  return broken;
}
