/**
 * What this machine charges for waking a process: CPU per TCP round trip between two processes,
 * back to back and with a pause between round trips (what a quiet shop does at every hop).
 * Under nested virtualisation a wake-up from idle can cost several times a busy one, and a quiet
 * checkout makes ~175 of them (docs/performance.md, 'Today's figures'): read the `--rate` figures
 * against this.
 *
 *   npm run wake-cost [-- --round-trips N --pause-ms M]
 */
import { fork } from 'node:child_process';
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';

interface CpuReport {
  readonly cpuMicros: number;
}

const cpuMicros = () => {
  const { user, system } = process.cpuUsage();
  return user + system;
};

/** The child: echoes every byte back; on IPC 'report' tells its CPU so far. */
function echo(): void {
  const server = net.createServer((socket) => {
    socket.setNoDelay(true);
    socket.on('data', (data) => socket.write(data));
  });
  server.listen(0, '127.0.0.1', () => process.send?.({ port: (server.address() as net.AddressInfo).port }));
  process.on('message', (message) => {
    if (message === 'report') process.send?.({ cpuMicros: cpuMicros() } satisfies CpuReport);
    if (message === 'exit') process.exit(0);
  });
}

function nextMessage<T>(child: ReturnType<typeof fork>): Promise<T> {
  return new Promise((resolve) => child.once('message', (message) => resolve(message as T)));
}

interface PerRoundTrip {
  readonly senderMicros: number;
  readonly echoMicros: number;
}

async function measure(socket: net.Socket, child: ReturnType<typeof fork>, roundTrips: number, pauseMs: number): Promise<PerRoundTrip> {
  child.send('report');
  const childBefore = (await nextMessage<CpuReport>(child)).cpuMicros;
  const before = cpuMicros();
  for (let trip = 0; trip < roundTrips; trip++) {
    await new Promise<void>((resolve) => {
      socket.once('data', () => resolve());
      socket.write('x');
    });
    if (pauseMs > 0) await sleep(pauseMs);
  }
  const own = cpuMicros() - before;
  child.send('report');
  const other = (await nextMessage<CpuReport>(child)).cpuMicros - childBefore;
  return { senderMicros: own / roundTrips, echoMicros: other / roundTrips };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { 'round-trips': { type: 'string', default: '500' }, 'pause-ms': { type: 'string', default: '20' } },
  });
  const roundTrips = Number(values['round-trips']);
  const pauseMs = Number(values['pause-ms']);
  if (!Number.isInteger(roundTrips) || roundTrips < 1)
    throw new Error(`--round-trips must be a whole number ≥ 1, not ${values['round-trips']}`);
  if (!Number.isFinite(pauseMs) || pauseMs < 0)
    throw new Error(`--pause-ms must be a number of milliseconds ≥ 0, not ${values['pause-ms']}`);

  const child = fork(__filename, ['--echo'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  try {
    const { port } = await nextMessage<{ port: number }>(child);
    const socket = net.connect(port, '127.0.0.1');
    socket.setNoDelay(true);
    await new Promise((resolve) => socket.once('connect', resolve));
    await measure(socket, child, 100, 0); // compiles both sides' paths first
    const busy = await measure(socket, child, roundTrips, 0);
    const quiet = await measure(socket, child, Math.min(roundTrips, Math.ceil(10_000 / Math.max(pauseMs, 1))), pauseMs);
    const row = (label: string, { senderMicros, echoMicros }: PerRoundTrip) =>
      `${label.padEnd(34)} ${(senderMicros + echoMicros).toFixed(0).padStart(5)} µs (sender ${senderMicros.toFixed(0)}, echo ${echoMicros.toFixed(0)})`;
    console.log('CPU per TCP round trip between two processes');
    console.log(row('back to back', busy));
    console.log(row(`${pauseMs} ms apart (a quiet machine)`, quiet));
    socket.destroy();
  } finally {
    child.send('exit');
  }
}

if (process.argv.includes('--echo')) echo();
else
  main().catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  });
