import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { readStackCpu, stackProcesses } from '../../../../infra/measure/cpu';

/** A run folder of its own per test, with a pids folder the test fills. */
let runDir: string;
beforeEach(() => {
  runDir = fs.mkdtempSync(path.join(os.tmpdir(), 'run-'));
  fs.mkdirSync(path.join(runDir, 'pids'));
});
afterEach(() => fs.rmSync(runDir, { recursive: true, force: true }));

describe('readStackCpu', () => {
  it('counts the process a pid file names, whether or not the file also holds its start time', () => {
    fs.writeFileSync(path.join(runDir, 'pids', 'offline-0.pid'), `${process.pid} 123456\n`);
    fs.writeFileSync(path.join(runDir, 'pids', 'kafka.pid'), `${process.ppid}\n`);
    const { byComponent } = readStackCpu(runDir);
    // The test's own process has spent CPU by now; its parent (a launcher) may not have.
    expect(byComponent.functions).toBeGreaterThan(0);
    expect(byComponent.Kafka).toEqual(expect.any(Number));
  });

  it('finds nothing of a stack whose pid files are not there', () => {
    expect(readStackCpu(path.join(runDir, 'absent')).byComponent).toEqual({});
  });
});

describe('stackProcesses', () => {
  it('lists the processes under a recorded one, each with the component the pid file names', () => {
    fs.writeFileSync(path.join(runDir, 'pids', 'kafka.pid'), `${process.ppid}\n`);
    const members = stackProcesses(runDir);
    expect(members.get(process.ppid)).toBe('Kafka');
    expect(members.get(process.pid)).toBe('Kafka');
    expect(stackProcesses(path.join(runDir, 'absent')).size).toBe(0);
  });
});
