import { spawn } from 'node:child_process';
import path from 'node:path';
import { loadStackConfig } from '../config';
import { consoleProgress } from '../processes/progress';
import { Stack } from './stack';
import { supervise } from './supervisor';
import { useTestStack } from './test-stack';

/**
 * Runs a command (the integration tests) against the tests' own stack (`test-stack.ts`: its own
 * folders and ports, so a shop npm start runs is never touched): the one already running if a
 * previous run left it up, otherwise one started here and stopped afterwards, whatever the outcome.
 */
async function main([command, ...args]: string[]): Promise<number> {
  if (!command) throw new Error('usage: with-stack <command> [args...]');
  // The command inherits it: every tool and test it runs acts on the same stack.
  useTestStack(process.env, path.resolve(__dirname, '../..'));
  const config = loadStackConfig();
  const stack = new Stack(config, consoleProgress);
  const startedHere = stack.processes.running().length === 0;
  if (startedHere) {
    consoleProgress.step(
      `test: starting the tests' own stack (gateway on :${config.ports.gateway}, data in ${path.relative(config.root, config.dataDir)})`,
    );
    await stack.start();
  } else {
    consoleProgress.step("test: using the tests' own stack, already running");
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
