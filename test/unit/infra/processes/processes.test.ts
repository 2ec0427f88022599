import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ProcessRegistry, startTimeOf } from '../../../../infra/processes/processes';

describe('ProcessRegistry pid files', () => {
  let runDir: string;
  let registry: ProcessRegistry;

  beforeEach(() => {
    runDir = fs.mkdtempSync(path.join(os.tmpdir(), 'registry-'));
    registry = new ProcessRegistry(runDir);
  });
  afterEach(() => fs.rmSync(runDir, { recursive: true, force: true }));

  it('finds a remembered process again by its pid', () => {
    registry.remember('self', process.pid);
    expect(registry.pidOf('self')).toBe(process.pid);
    expect(registry.running()).toEqual(['self']);
  });

  it('never takes a pid the kernel gave to a process started at another time for the recorded one', () => {
    const started = Number(startTimeOf(process.pid));
    fs.writeFileSync(path.join(registry.pidDir, 'reused.pid'), `${process.pid} ${started - 1}\n`);
    expect(registry.pidOf('reused')).toBeUndefined();
    expect(registry.running()).toEqual([]);
  });

  it('reads a pid file written before start times were recorded', () => {
    fs.writeFileSync(path.join(registry.pidDir, 'older.pid'), `${process.pid}\n`);
    expect(registry.pidOf('older')).toBe(process.pid);
  });
});
