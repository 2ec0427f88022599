import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { localInstances } from '../../../functions/ops/local-instances';

describe('localInstances', () => {
  let pidDir: string;
  beforeEach(() => {
    pidDir = fs.mkdtempSync(path.join(os.tmpdir(), 'pids-'));
  });
  afterEach(() => fs.rmSync(pidDir, { recursive: true, force: true }));

  it('reads the pid of a pid file that also holds its start time, and of one that does not', () => {
    fs.writeFileSync(path.join(pidDir, 'offline-0.pid'), `${process.pid} 123456\n`);
    fs.writeFileSync(path.join(pidDir, 'offline-1.pid'), `${process.pid}\n`);
    fs.writeFileSync(path.join(pidDir, 'kafka-1.pid'), `${process.pid}\n`);
    expect(localInstances(pidDir)).toEqual([
      { name: 'offline-0', pid: process.pid, up: true },
      { name: 'offline-1', pid: process.pid, up: true },
    ]);
  });

  it('is null where there is no pid folder (AWS)', () => {
    expect(localInstances(undefined)).toBeNull();
    expect(localInstances(path.join(pidDir, 'absent'))).toBeNull();
  });
});
