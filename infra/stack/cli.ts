import { loadStackConfig } from '../config';
import { isAlive } from './processes';
import { consoleProgress } from './progress';
import { Stack } from './stack';

const SUPERVISOR = 'supervisor';

/** `start` runs the stack in the foreground until Ctrl-C or `npm stop`; `stop` ends it from anywhere. */
async function main(command: string | undefined): Promise<void> {
  const stack = new Stack(loadStackConfig(), consoleProgress);
  switch (command) {
    case 'prepare':
      await stack.prepare();
      consoleProgress.step('prepared: tools, Kafka jars and the Secrets Manager venv are in place');
      return;
    case 'start':
      return runInForeground(stack);
    case 'stop':
      return stopFromOutside(stack);
    case 'scale':
      return scale(stack, process.argv[3]);
    default:
      throw new Error(`unknown command ${command ?? '(none)'}; use start, stop, scale N or prepare`);
  }
}

async function runInForeground(stack: Stack): Promise<void> {
  const url = await stack.start();
  stack.processes.remember(SUPERVISOR, process.pid);
  consoleProgress.step(`ready: the API is at ${url} (Ctrl-C or npm stop to end)`);
  let stopping = false;
  const endSupervision = stack.superviseInstances();
  const shutdown = async () => {
    if (stopping) return;
    stopping = true;
    endSupervision();
    await stack.stop();
    stack.processes.forget(SUPERVISOR);
    consoleProgress.step('stopped');
    process.exit(0);
  };
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, () => void shutdown());

}

/** `npm run scale -- N`: the running stack's function instances, up or down, while it serves. */
async function scale(stack: Stack, argument: string | undefined): Promise<void> {
  const count = Number(argument);
  if (!argument || !/^\d+$/.test(argument) || count < 1 || count > 16) {
    throw new Error(`npm run scale -- N: N is the number of function instances, a whole number from 1 to 16${argument ? `, not ${argument}` : ''}`);
  }
  const supervisor = stack.processes.pidOf(SUPERVISOR);
  if (supervisor === undefined || !isAlive(supervisor)) throw new Error('the stack is not running; npm start first');
  const started = Date.now();
  await stack.scale(count);
  consoleProgress.step(`scaled: ${count} function instance${count === 1 ? '' : 's'} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
}

/** Asks the foreground start to stop (it knows best); stops the parts itself when start is gone. */
async function stopFromOutside(stack: Stack): Promise<void> {
  const supervisor = stack.processes.pidOf(SUPERVISOR);
  if (supervisor !== undefined && isAlive(supervisor) && supervisor !== process.pid) {
    process.kill(supervisor, 'SIGTERM');
    while (isAlive(supervisor)) await new Promise((resolve) => setTimeout(resolve, 100));
  }
  stack.processes.forget(SUPERVISOR);
  await stack.stop();
  consoleProgress.step('stopped');
}

main(process.argv[2]).catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : String(error));
  process.exit(1);
});
