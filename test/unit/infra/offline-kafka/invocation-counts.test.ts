import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { countInvocations, readInvocationCounts } from '../../../../infra/offline-kafka/invocation-counts';

describe('invocation counts', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'invocations-'));
    jest.useFakeTimers();
  });
  afterEach(() => {
    jest.useRealTimers();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('writes each function count, failed invocations too, half a second after a change, and sums the instances', async () => {
    const counting = countInvocations(
      async (name) => {
        if (name === 'shop-local-bad') throw new Error('handler failed');
      },
      path.join(dir, 'offline-0.json'),
    );
    await counting.invoke('shop-local-orderResults', {});
    await counting.invoke('shop-local-orderResults', {});
    await expect(counting.invoke('shop-local-bad', {})).rejects.toThrow('handler failed');
    expect(readInvocationCounts(dir)).toEqual({});

    jest.advanceTimersByTime(500);
    expect(readInvocationCounts(dir)).toEqual({ 'shop-local-orderResults': 2, 'shop-local-bad': 1 });

    fs.writeFileSync(path.join(dir, 'offline-1.json'), JSON.stringify({ 'shop-local-orderResults': 5 }));
    expect(readInvocationCounts(dir)).toEqual({ 'shop-local-orderResults': 7, 'shop-local-bad': 1 });
  });

  it('writes what is pending when flushed at shutdown, and nothing when nothing changed', async () => {
    const file = path.join(dir, 'offline-0.json');
    const counting = countInvocations(async () => undefined, file);
    counting.flush();
    expect(fs.existsSync(file)).toBe(false);
    await counting.invoke('shop-local-stockInstructions', {});
    counting.flush();
    expect(readInvocationCounts(dir)).toEqual({ 'shop-local-stockInstructions': 1 });
  });

  it('reads no counts from a folder that is not there', () => {
    expect(readInvocationCounts(path.join(dir, 'absent'))).toEqual({});
  });
});
