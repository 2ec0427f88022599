import { spawn } from 'node:child_process';
import { loadStackConfig } from '../config';
import { consoleProgress } from '../processes/progress';
import { Stack } from './stack';
import { supervise } from './supervisor';

/**
 * Runs a command (the integration tests) against the local stack: the one already running if
 * `npm start` is up, otherwise one started here and stopped afterwards, whatever the outcome.
 */
async function main([command, ...args]: string[]): Promise<number> {
  if (!command) throw new Error('usage: with-stack <command> [args...]');
  const stack = new Stack(loadStackConfig(), consoleProgress);
  const startedHere = stack.processes.running().length === 0;
  if (startedHere) {
    consoleProgress.step('test: starting the local stack for the integration tests');
    await stack.start();
  } else {
    consoleProgress.step('test: using the local stack that is already running');
  }
  // The tests kill instances, servers and the broker on purpose; like npm start, a stack started here starts them again.
  const endSupervision = startedHere ? supervise(stack, consoleProgress) : async () => undefined;
  const stopOnSignal = () => void endSupervision().then(() => stack.stop().then(() => process.exit(130)));
  if (startedHere) process.once('SIGINT', stopOnSignal).once('SIGTERM', stopOnSignal);
  try {
    return await new Promise<number>((resolve, reject) => {
      const child = spawn(command, args, { stdio: 'inherit', shell: false });
      child.once('error', reject);
      child.once('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0)));
    });
  } finally {
    await endSupervision();
    if (startedHere) await stack.stop();
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error instanceof Error ? error.message : String(error));
    process.exit(1);
  },
);
