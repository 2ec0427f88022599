/**
 * How many times the event source invoked each function, for a benchmark to read from outside
 * the process: written to `<dir>/<instance>.json` (e.g. `{"orderResults": 1234}`) half a second
 * after a change, so a busy process writes twice a second and an idle one never wakes for it.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Invoker } from './invoker';

const WRITE_DELAY_MS = 500;

export interface CountingInvoker {
  readonly invoke: Invoker;
  /** Writes the counts now (at shutdown), if any changed since the last write. */
  flush(): void;
}

/** Wraps `invoke` so that every invocation, succeeded or failed, is counted under its function's name. */
export function countInvocations(invoke: Invoker, file: string): CountingInvoker {
  const counts: Record<string, number> = {};
  let pending: NodeJS.Timeout | undefined;
  const flush = () => {
    if (pending === undefined) return;
    clearTimeout(pending);
    pending = undefined;
    fs.mkdirSync(path.dirname(file), { recursive: true });
    // Written aside and renamed, so a reader never sees half a file.
    fs.writeFileSync(`${file}.tmp`, JSON.stringify(counts));
    fs.renameSync(`${file}.tmp`, file);
  };
  return {
    invoke: (functionName, event) => {
      counts[functionName] = (counts[functionName] ?? 0) + 1;
      pending ??= setTimeout(flush, WRITE_DELAY_MS).unref();
      return invoke(functionName, event);
    },
    flush,
  };
}

/** Every instance's counts in `dir`, summed by function. */
export function readInvocationCounts(dir: string): Record<string, number> {
  const sums: Record<string, number> = {};
  let files: string[];
  try {
    files = fs.readdirSync(dir).filter((name) => name.endsWith('.json'));
  } catch {
    return sums;
  }
  for (const name of files) {
    const counts = JSON.parse(fs.readFileSync(path.join(dir, name), 'utf8')) as Record<string, number>;
    for (const [functionName, count] of Object.entries(counts)) sums[functionName] = (sums[functionName] ?? 0) + count;
  }
  return sums;
}
