import type { Ack } from '../twopc/messages';

/**
 * How long an acknowledgement of a commit waits for a record to ride on before it leaves in one
 * of its own: far below the resolver's first resend of an unacknowledged decision (3 s), and
 * longer than the gap between a busy participant's batches.
 */
export const HOLD_AT_MOST_MS = 1_000;

/** At most this many ride in one record (an ack is ~130 bytes; Kafka takes 1 MB). */
export const CARRIED_PER_RECORD = 1_000;

/**
 * The acknowledgements of commits a participant container has not sent yet. No one waits for
 * them on a checkout's path (a checkout replies once the commit is logged, `checkout-use-case.ts`);
 * they only tell the coordinator to stop resending the decision and let its log entry go. So
 * instead of a record each, they ride on the container's next record to the results topic, a
 * vote of a later checkout, and while checkouts keep coming a commit costs no record and no
 * invocation of its own (docs/architecture.md, "Acknowledgements ride along").
 *
 * Held in memory only: a container that dies holding some loses them, and the resolver resends
 * those decisions, which are acknowledged again from the participation records. An
 * acknowledgement of a rollback is never held: an aborted checkout waits for it.
 */
export class HeldAcks {
  private acks: Ack[] = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly holdAtMostMs = HOLD_AT_MOST_MS) {}

  hold(acks: readonly Ack[]): void {
    this.acks.push(...acks);
  }

  /** The oldest held acknowledgements, at most one record's worth, to carry now. */
  take(): Ack[] {
    const taken = this.acks.splice(0, CARRIED_PER_RECORD);
    if (this.acks.length === 0) this.cancelTimer();
    return taken;
  }

  /** Acknowledgements whose record could not be sent: held again, first in line. */
  giveBack(acks: readonly Ack[]): void {
    this.acks.unshift(...acks);
  }

  /**
   * When nothing took them by then, `send` gets what is held, HOLD_AT_MOST_MS from the first
   * call since the last timer fired; its failure gives them back, for the next record or the
   * next call. Each call passes the connection of the invocation that makes it.
   */
  sendLater(send: (acks: Ack[]) => Promise<void>, onError: (error: unknown) => void): void {
    if (this.acks.length === 0 || this.timer !== undefined) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      const acks = this.take();
      if (acks.length === 0) return;
      send(acks).then(
        () => this.sendLater(send, onError),
        (error: unknown) => {
          this.giveBack(acks);
          onError(error);
        },
      );
    }, this.holdAtMostMs);
    // A process with nothing else to do may end; its acknowledgements are the resolver's then.
    this.timer.unref();
  }

  private cancelTimer(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }
}
