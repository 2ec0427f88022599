import type { OffsetsByTopicPartition } from 'kafkajs';
import { type BatchRunnerOptions, createBatchRunner } from '../../../../infra/offline-kafka/batch-runner';
import type { EachBatchContext } from '../../../../infra/offline-kafka/each-batch-context';
import type { ConsumedMessage, KafkaEvent } from '../../../../infra/offline-kafka/event';
import type { Logger } from '../../../../infra/offline-kafka/logger';

const TOPIC = 'orders';
/** The mapping every runner here serves: one function, one self-managed cluster, delivering at once unless a test sets a window. */
const MAPPING = {
  functionKey: 'settle',
  source: { kind: 'self-managed', bootstrapServers: ['127.0.0.1:9092'] },
  maximumBatchingWindowMs: 0,
} as const;
const PARTITION = 0;

function messageAt(offset: number, value = `v${offset}`): ConsumedMessage {
  return {
    key: Buffer.from(`k${offset}`),
    value: Buffer.from(value),
    timestamp: String(1_700_000_000_000 + offset),
    offset: String(offset),
    attributes: 0,
    headers: {},
    batchContext: { timestampType: 0 },
  };
}

/** A stand-in for kafkajs' EachBatchPayload that records what the runner did to it. */
class FakeBatch {
  running = true;
  stale = false;
  resolvedNext: string | undefined;
  committedNext: string | undefined;
  readonly commits: OffsetsByTopicPartition[] = [];
  readonly timeline: string[] = [];
  heartbeats = 0;
  heartbeatError: Error | undefined;

  constructor(
    private readonly messages: ConsumedMessage[],
    private readonly highWatermark = Number(messages[messages.length - 1]!.offset) + 1,
  ) {}

  context(): EachBatchContext {
    const lastOffset = this.messages[this.messages.length - 1]!.offset;
    return {
      batch: {
        topic: TOPIC,
        partition: PARTITION,
        highWatermark: String(this.highWatermark),
        messages: this.messages,
        lastOffset: () => lastOffset,
      },
      resolveOffset: (offset) => {
        this.timeline.push(`resolve ${offset}`);
        this.resolvedNext = String(BigInt(offset) + 1n);
      },
      heartbeat: async () => {
        this.heartbeats++;
        if (this.heartbeatError) throw this.heartbeatError;
      },
      uncommittedOffsets: () =>
        this.resolvedNext !== undefined && this.resolvedNext !== this.committedNext
          ? // kafkajs builds these from object keys: the partition is a string at run time.
            { topics: [{ topic: TOPIC, partitions: [{ partition: String(PARTITION) as unknown as number, offset: this.resolvedNext }] }] }
          : { topics: [] },
      commitOffsetsIfNecessary: async (offsets) => {
        if (!offsets) throw new Error('the runner must commit explicit offsets (autoCommit is off)');
        this.commits.push(offsets);
        expect(offsets.topics).toEqual([{ topic: TOPIC, partitions: [{ partition: PARTITION, offset: this.resolvedNext }] }]);
        const offset = offsets.topics[0]!.partitions[0]!.offset;
        this.timeline.push(`commit ${offset}`);
        this.committedNext = offset;
      },
      isRunning: () => this.running,
      isStale: () => this.stale,
    };
  }
}

function recordingLogger(): Logger & { lines: { level: string; message: string }[] } {
  const lines: { level: string; message: string }[] = [];
  const at = (level: string) => (message: string) => void lines.push({ level, message });
  return { lines, error: at('error'), warning: at('warning'), notice: at('notice'), info: at('info'), debug: at('debug') };
}

interface Harness {
  readonly events: KafkaEvent[];
  readonly sleeps: number[];
  readonly log: ReturnType<typeof recordingLogger>;
  clock: number;
  run(batch: FakeBatch): Promise<void>;
}

/**
 * Builds a runner with a fake invoker (fails the first `failures` calls, or while `failWhen` says so),
 * a fake clock and a sleep that only advances the clock.
 */
function harness(
  options: Partial<BatchRunnerOptions> = {},
  behaviour: {
    failures?: number;
    onInvoke?: (event: KafkaEvent, call: number) => void;
    /** What the handler answers when it succeeds (a partial batch response, say). */
    reply?: (event: KafkaEvent, call: number) => unknown;
    signal?: AbortSignal;
    batch?: () => FakeBatch;
  } = {},
): Harness {
  const state: Harness = {
    events: [],
    sleeps: [],
    log: recordingLogger(),
    clock: 0,
    run: async () => {},
  };
  let calls = 0;
  const runner = createBatchRunner(
    {
      ...MAPPING,
      batchSize: 100,
      heartbeatEveryMs: 60_000,
      ...options,
    },
    {
      invoke: async (event) => {
        calls++;
        state.events.push(event);
        behaviour.batch?.().timeline.push(`invoke ${event.records[`${TOPIC}-${PARTITION}`]!.map((record) => record.offset).join(',')}`);
        behaviour.onInvoke?.(event, calls);
        if (calls <= (behaviour.failures ?? 0)) throw new Error(`handler failed #${calls}`);
        return behaviour.reply?.(event, calls);
      },
      log: state.log,
      signal: behaviour.signal,
      now: () => state.clock,
      sleep: async (ms) => {
        state.sleeps.push(ms);
        state.clock += ms;
      },
    },
  );
  state.run = (batch) => runner(batch.context());
  return state;
}

function offsetsOf(event: KafkaEvent): number[] {
  return Object.values(event.records).flatMap((records) => records.map((record) => record.offset));
}

const range = (from: number, count: number) => Array.from({ length: count }, (_, index) => messageAt(from + index));

describe('batch size', () => {
  it('never puts more than batchSize records in one invocation, in offset order, committing after each', async () => {
    const batch = new FakeBatch(range(0, 250));
    const h = harness({ batchSize: 100 }, { batch: () => batch });
    await h.run(batch);

    expect(h.events.map((event) => offsetsOf(event).length)).toEqual([100, 100, 50]);
    expect(h.events.flatMap(offsetsOf)).toEqual(range(0, 250).map((message) => Number(message.offset)));
    expect(batch.timeline).toEqual([
      `invoke ${range(0, 100)
        .map((m) => m.offset)
        .join(',')}`,
      'resolve 99',
      'commit 100',
      `invoke ${range(100, 100)
        .map((m) => m.offset)
        .join(',')}`,
      'resolve 199',
      'commit 200',
      `invoke ${range(200, 50)
        .map((m) => m.offset)
        .join(',')}`,
      'resolve 249',
      'commit 250',
    ]);
  });

  it('builds the AWS envelope for every invocation', async () => {
    const h = harness({ batchSize: 2 });
    await h.run(new FakeBatch(range(5, 3)));
    expect(h.events[0]).toEqual({
      eventSource: 'SelfManagedKafka',
      bootstrapServers: '127.0.0.1:9092',
      records: {
        'orders-0': [
          expect.objectContaining({ topic: 'orders', partition: 0, offset: 5 }),
          expect.objectContaining({ topic: 'orders', partition: 0, offset: 6 }),
        ],
      },
    });
  });

  it('also closes a batch before it would exceed the invocation payload limit', async () => {
    const big = 'x'.repeat(30_000);
    const messages = [0, 1, 2, 3].map((offset) => messageAt(offset, big));
    const h = harness({ batchSize: 100, maxPayloadBytes: 16 * 1024 + 90_000 });
    await h.run(new FakeBatch(messages));
    expect(h.events.map((event) => offsetsOf(event))).toEqual([
      [0, 1],
      [2, 3],
    ]);
  });
});

describe('batching window', () => {
  it('holds a partial batch back for the window, heartbeating, without resolving or committing', async () => {
    const batch = new FakeBatch(range(0, 5));
    const h = harness({ batchSize: 100, maximumBatchingWindowMs: 500, heartbeatEveryMs: 200 });
    await h.run(batch);

    expect(h.events).toHaveLength(0);
    expect(h.sleeps).toEqual([200, 200, 100]);
    expect(batch.heartbeats).toBe(3);
    expect(batch.resolvedNext).toBeUndefined();
    expect(batch.commits).toHaveLength(0);
  });

  it('delivers what the refetch brings once the window has passed, including records that arrived meanwhile', async () => {
    const h = harness({ batchSize: 100, maximumBatchingWindowMs: 500 });
    await h.run(new FakeBatch(range(0, 5)));
    expect(h.events).toHaveLength(0);

    const refetched = new FakeBatch(range(0, 8));
    await h.run(refetched);
    expect(h.events.map(offsetsOf)).toEqual([[0, 1, 2, 3, 4, 5, 6, 7]]);
    expect(refetched.committedNext).toBe('8');
  });

  it('waits only for what is left of the window when the batch was first seen earlier', async () => {
    const h = harness({ batchSize: 100, maximumBatchingWindowMs: 500 });
    await h.run(new FakeBatch(range(0, 5)));
    h.clock -= 300; // pretend the wait was cut short after 200 ms (e.g. a fetch raced it)
    await h.run(new FakeBatch(range(0, 6)));
    expect(h.sleeps).toEqual([500, 300]);
    expect(h.events).toHaveLength(0);
  });

  it.each([
    ['the batch is already full', 10, 500, new FakeBatch(range(0, 10)), [[0, 1, 2, 3, 4, 5, 6, 7, 8, 9]]],
    ['the broker holds more records than the fetch brought', 100, 500, new FakeBatch(range(0, 5), 5_000), [[0, 1, 2, 3, 4]]],
    ['the window is zero (lowest latency)', 100, 0, new FakeBatch(range(0, 1)), [[0]]],
  ])('delivers at once when %s', async (_, batchSize, maximumBatchingWindowMs, batch, delivered) => {
    const h = harness({ batchSize, maximumBatchingWindowMs });
    await h.run(batch);
    expect(h.sleeps).toEqual([]);
    expect(h.events.map(offsetsOf)).toEqual(delivered);
  });

  it('sends full batches first and holds back only the partial tail', async () => {
    const batch = new FakeBatch(range(0, 25));
    const h = harness({ batchSize: 10, maximumBatchingWindowMs: 500 });
    await h.run(batch);
    expect(h.events.map((event) => offsetsOf(event).length)).toEqual([10, 10]);
    expect(batch.committedNext).toBe('20');
    expect(h.sleeps).toEqual([500]);
  });
});

describe('partial batch responses (functionResponseTypes: ReportBatchItemFailures)', () => {
  const failed = (...offsets: number[]) => ({
    batchItemFailures: offsets.map((offset) => ({ itemIdentifier: { partition: `${TOPIC}-${PARTITION}`, offset } })),
  });

  it('commits the records before the lowest reported one, and delivers it and the rest again after a backoff', async () => {
    const batch = new FakeBatch(range(0, 5));
    const h = harness(
      { reportBatchItemFailures: true },
      { batch: () => batch, reply: (_, call) => (call === 1 ? failed(3, 2) : undefined) },
    );
    await h.run(batch);

    expect(batch.timeline).toEqual(['invoke 0,1,2,3,4', 'resolve 1', 'commit 2', 'invoke 2,3,4', 'resolve 4', 'commit 5']);
    expect(h.sleeps).toEqual([100]);
    expect(h.log.lines.find((line) => line.level === 'warning')?.message).toContain('the handler reported offset 2 failed');
  });

  it('delivers the whole batch again when the first record failed, or a report names a record it did not hold', async () => {
    const batch = new FakeBatch(range(0, 3));
    const h = harness(
      { reportBatchItemFailures: true },
      { batch: () => batch, reply: (_, call) => (call === 1 ? failed(0) : call === 2 ? failed(7) : undefined) },
    );
    await h.run(batch);

    expect(batch.timeline).toEqual(['invoke 0,1,2', 'invoke 0,1,2', 'invoke 0,1,2', 'resolve 2', 'commit 3']);
  });

  it('reads no reply unless the event asks for it, as AWS does not', async () => {
    const batch = new FakeBatch(range(0, 3));
    const h = harness({}, { batch: () => batch, reply: () => failed(1) });
    await h.run(batch);

    expect(batch.timeline).toEqual(['invoke 0,1,2', 'resolve 2', 'commit 3']);
  });
});

describe('retries', () => {
  it('delivers the same batch again with exponential backoff and commits only after success', async () => {
    const batch = new FakeBatch(range(0, 3));
    const h = harness({}, { failures: 2, batch: () => batch });
    await h.run(batch);

    expect(h.events).toHaveLength(3);
    expect(h.events[1]).toEqual(h.events[0]);
    expect(h.events[2]).toEqual(h.events[0]);
    expect(h.sleeps).toEqual([100, 200]);
    expect(batch.timeline).toEqual(['invoke 0,1,2', 'invoke 0,1,2', 'invoke 0,1,2', 'resolve 2', 'commit 3']);
  });

  it('logs each failure on one line with function, topic-partition and offsets', async () => {
    const h = harness({}, { failures: 1 });
    await h.run(new FakeBatch(range(40, 3)));
    const warnings = h.log.lines.filter((line) => line.level === 'warning');
    expect(warnings).toHaveLength(1);
    expect(warnings[0]!.message).not.toContain('\n');
    expect(warnings[0]!.message).toContain('settle');
    expect(warnings[0]!.message).toContain('orders-0');
    expect(warnings[0]!.message).toContain('offsets 40-42');
    expect(warnings[0]!.message).toContain('handler failed #1');
  });

  it('doubles the delay up to a cap of a few seconds', async () => {
    const h = harness({ backoff: { initialDelayMs: 100, maxDelayMs: 5_000 } }, { failures: 9 });
    await h.run(new FakeBatch(range(0, 1)));
    expect(h.sleeps).toEqual([100, 200, 400, 800, 1_600, 3_200, 5_000, 5_000, 5_000]);
    expect(h.events).toHaveLength(10);
  });

  it('heartbeats while waiting to retry', async () => {
    const batch = new FakeBatch(range(0, 1));
    const h = harness({ heartbeatEveryMs: 50 }, { failures: 1 });
    await h.run(batch);
    expect(h.sleeps).toEqual([50, 50]);
    expect(batch.heartbeats).toBe(2);
  });

  it('keeps later batches of the partition behind a failing one', async () => {
    const batch = new FakeBatch(range(0, 6));
    let failuresLeft = 2;
    const h = harness(
      { batchSize: 2 },
      {
        batch: () => batch,
        onInvoke: (event) => {
          if (offsetsOf(event)[0] === 2 && failuresLeft-- > 0) throw new Error('second batch fails twice');
        },
      },
    );
    await h.run(batch);
    expect(batch.timeline).toEqual([
      'invoke 0,1',
      'resolve 1',
      'commit 2',
      'invoke 2,3',
      'invoke 2,3',
      'invoke 2,3',
      'resolve 3',
      'commit 4',
      'invoke 4,5',
      'resolve 5',
      'commit 6',
    ]);
  });

  it('stops retrying, uncommitted, when the consumer stops', async () => {
    const batch = new FakeBatch(range(0, 2));
    const h = harness(
      {},
      {
        failures: Number.POSITIVE_INFINITY,
        onInvoke: (_event, call) => {
          if (call === 2) batch.running = false;
        },
      },
    );
    await h.run(batch);
    expect(h.events).toHaveLength(2);
    expect(batch.resolvedNext).toBeUndefined();
    expect(batch.commits).toHaveLength(0);
    expect(h.log.lines.some((line) => line.message.includes('stopped retrying'))).toBe(true);
  });

  it('stops retrying when the stop signal fires', async () => {
    const stop = new AbortController();
    const batch = new FakeBatch(range(0, 2));
    const h = harness({}, { failures: Number.POSITIVE_INFINITY, signal: stop.signal, onInvoke: () => stop.abort() });
    await h.run(batch);
    expect(h.events).toHaveLength(1);
    expect(batch.commits).toHaveLength(0);
  });

  it('stops retrying when the partition was sought elsewhere (stale batch)', async () => {
    const batch = new FakeBatch(range(0, 2));
    const h = harness(
      {},
      {
        failures: Number.POSITIVE_INFINITY,
        onInvoke: () => {
          batch.stale = true;
        },
      },
    );
    await h.run(batch);
    expect(h.events).toHaveLength(1);
    expect(batch.commits).toHaveLength(0);
  });

  it('propagates a failed heartbeat (rebalance) so kafkajs rejoins and the new owner redelivers', async () => {
    const batch = new FakeBatch(range(0, 2));
    batch.heartbeatError = Object.assign(new Error('The group is rebalancing'), { type: 'REBALANCE_IN_PROGRESS' });
    const h = harness({}, { failures: Number.POSITIVE_INFINITY });
    await expect(h.run(batch)).rejects.toThrow('rebalancing');
    expect(h.events).toHaveLength(1);
    expect(batch.commits).toHaveLength(0);
    expect(batch.resolvedNext).toBeUndefined();
  });
});

describe('commits', () => {
  /** One commit of what partitions 1 and 2 finished meanwhile. */
  const PARTITIONS_1_AND_2_AT_2: OffsetsByTopicPartition = {
    topics: [
      {
        topic: TOPIC,
        partitions: [
          { partition: 1, offset: '2' },
          { partition: 2, offset: '2' },
        ],
      },
    ],
  };

  const runnerFor = (log: Logger) => createBatchRunner({ ...MAPPING, batchSize: 10 }, { invoke: async () => {}, log });

  /** A batch of one partition whose commit resolves only when the test says so. */
  const heldCommitContext = (partition: number, calls: OffsetsByTopicPartition[], release: (() => void)[]): EachBatchContext => {
    const base = new FakeBatch(range(0, 2)).context();
    let resolved: string | undefined;
    return {
      ...base,
      batch: { ...base.batch, partition },
      resolveOffset: (offset) => (resolved = String(BigInt(offset) + 1n)),
      uncommittedOffsets: () => ({
        topics: resolved ? [{ topic: TOPIC, partitions: [{ partition: String(partition) as unknown as number, offset: resolved }] }] : [],
      }),
      commitOffsetsIfNecessary: (offsets) => {
        calls.push(offsets!);
        return new Promise<void>((resolve) => release.push(resolve));
      },
    };
  };

  it('does not hold the next batch back while a commit is in flight, and commits what finished meanwhile together', async () => {
    const calls: OffsetsByTopicPartition[] = [];
    const release: (() => void)[] = [];
    const runner = runnerFor(recordingLogger());

    await runner(heldCommitContext(0, calls, release));
    await runner(heldCommitContext(1, calls, release));
    await runner(heldCommitContext(2, calls, release));

    expect(calls).toEqual([{ topics: [{ topic: TOPIC, partitions: [{ partition: 0, offset: '2' }] }] }]);
    release[0]!();
    await new Promise((resolve) => setImmediate(resolve));
    expect(calls[1]).toEqual(PARTITIONS_1_AND_2_AT_2);
  });

  /** A runner committing at most every 250 ms, on a fake clock whose sleeps end when the test says so. */
  const throttled = (signal?: AbortSignal) => {
    const clock = { now: 0, sleeps: [] as number[], wake: [] as (() => void)[] };
    const runner = createBatchRunner(
      {
        ...MAPPING,
        batchSize: 10,
        commitEveryMs: 250,
      },
      {
        invoke: async () => {},
        log: recordingLogger(),
        signal,
        now: () => clock.now,
        sleep: (ms) => {
          clock.sleeps.push(ms);
          return new Promise<void>((resolve) => clock.wake.push(resolve));
        },
      },
    );
    return { runner, clock };
  };
  const settled = () => new Promise((resolve) => setImmediate(resolve));

  it('commits at most every commitEveryMs, what finished meanwhile together', async () => {
    const { runner, clock } = throttled();
    const calls: OffsetsByTopicPartition[] = [];
    const commitsOf = (partition: number) => ({
      ...heldCommitContext(partition, calls, []),
      commitOffsetsIfNecessary: async (offsets?: OffsetsByTopicPartition) => void calls.push(offsets!),
    });

    await runner(commitsOf(0));
    await settled();
    expect(calls).toEqual([{ topics: [{ topic: TOPIC, partitions: [{ partition: 0, offset: '2' }] }] }]);

    clock.now = 100;
    await runner(commitsOf(1));
    clock.now = 200;
    await runner(commitsOf(2));
    await settled();
    expect(calls).toHaveLength(1);
    expect(clock.sleeps).toEqual([150]);

    clock.now = 250;
    clock.wake.shift()!();
    await settled();
    expect(calls[1]).toEqual(PARTITIONS_1_AND_2_AT_2);
  });

  it('commits what is pending at once when the member leaves, without waiting for the interval', async () => {
    const stop = new AbortController();
    const { runner, clock } = throttled(stop.signal);
    const first = new FakeBatch(range(0, 2));
    const second = new FakeBatch(range(2, 2));

    await runner(first.context());
    await settled();
    clock.now = 10;
    const context = second.context();
    // Told to leave while its batch was being delivered.
    await runner({
      ...context,
      resolveOffset: (offset) => {
        second.running = false;
        context.resolveOffset(offset);
      },
    });

    expect(second.timeline).toEqual(['resolve 3', 'commit 4']);
    expect(clock.sleeps).toEqual([240]);
  });

  it('logs a failed commit and goes on; the records are delivered again by whoever owns the partition next', async () => {
    const batch = new FakeBatch(range(0, 2));
    const log = recordingLogger();

    await runnerFor(log)({ ...batch.context(), commitOffsetsIfNecessary: async () => Promise.reject(new Error('ILLEGAL_GENERATION')) });
    await new Promise((resolve) => setImmediate(resolve));

    expect(batch.committedNext).toBeUndefined();
    expect(log.lines).toContainEqual({ level: 'info', message: expect.stringMatching(/offsets not committed \(.*ILLEGAL_GENERATION\)/) });
  });
});
