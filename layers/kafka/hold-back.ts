/**
 * Messages a container holds back to send several in one record: taken by the next record that
 * leaves anyway, or sent by `sendLater` once the oldest has waited `holdAtMostMs`. Only for
 * messages no one waits for and whose loss costs a resend, never a decision: they live in memory.
 */
export class HoldBack<T> {
  private held: T[] = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly holdAtMostMs: number,
    /** At most this many go in one record (a message is ~130 bytes; Kafka takes 1 MB). */
    private readonly perRecord = 1_000,
  ) {}

  hold(messages: readonly T[]): void {
    this.held.push(...messages);
  }

  get size(): number {
    return this.held.length;
  }

  /** The oldest held messages, at most one record's worth, to send now. */
  take(): T[] {
    const taken = this.held.splice(0, this.perRecord);
    if (this.held.length === 0) this.cancelTimer();
    return taken;
  }

  /** Messages whose record could not be sent: held again, first in line. */
  giveBack(messages: readonly T[]): void {
    this.held.unshift(...messages);
  }

  /**
   * Unless something takes them first, `send` gets what is held `holdAtMostMs` after the first
   * call since the timer last fired, a record's worth at a time; a failed send gives its messages
   * back for the next record or the next call. Each call passes the connection of the invocation
   * that makes it.
   */
  sendLater(send: (messages: T[]) => Promise<void>, onError: (error: unknown) => void): void {
    if (this.held.length === 0 || this.timer !== undefined) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      const messages = this.take();
      if (messages.length === 0) return;
      send(messages).then(
        () => this.sendLater(send, onError),
        (error: unknown) => {
          this.giveBack(messages);
          onError(error);
        },
      );
    }, this.holdAtMostMs);
    // A process with nothing else to do may end: what it held is the resolver's to resend then.
    this.timer.unref();
  }

  private cancelTimer(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }
}
