import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { clearRestartLocks, exclusively } from '../../../../infra/stack/restart-lock';

describe('the restart lock', () => {
  let pidDir: string;
  beforeEach(() => {
    pidDir = fs.mkdtempSync(path.join(os.tmpdir(), 'restart-lock-'));
  });
  afterEach(() => fs.rmSync(pidDir, { recursive: true, force: true }));

  const lockOf = (name: string) => path.join(pidDir, `${name}.restarting`);

  it('runs the body holding a lock that names this process, and lets it go after', async () => {
    let held: string | undefined;
    await exclusively(pidDir, 'kafka', async () => {
      held = fs.readFileSync(lockOf('kafka'), 'utf8');
    });
    expect(held).toBe(`${process.pid}\n`);
    expect(fs.existsSync(lockOf('kafka'))).toBe(false);
  });

  it('lets the lock go when the body fails', async () => {
    await expect(exclusively(pidDir, 'kafka', () => Promise.reject(new Error('start failed')))).rejects.toThrow('start failed');
    expect(fs.existsSync(lockOf('kafka'))).toBe(false);
  });

  it('takes over a lock whose holder died', async () => {
    const dead = spawnSync(process.execPath, ['-e', '']).pid;
    fs.writeFileSync(lockOf('postgres-stock-0'), `${dead}\n`);
    let ran = false;
    await exclusively(pidDir, 'postgres-stock-0', async () => {
      ran = true;
    });
    expect(ran).toBe(true);
  });

  it("waits for a live holder, then does not run its own body: the holder's restart was the one needed", async () => {
    fs.writeFileSync(lockOf('offline-0'), `${process.pid}\n`);
    let ran = false;
    const waiting = exclusively(pidDir, 'offline-0', async () => {
      ran = true;
    });
    await new Promise((resolve) => setTimeout(resolve, 300));
    fs.rmSync(lockOf('offline-0'));
    await waiting;
    expect(ran).toBe(false);
  });

  it('clears only restart locks, which no earlier run can still hold when the stack starts', () => {
    fs.writeFileSync(lockOf('offline-0'), '1\n');
    fs.writeFileSync(path.join(pidDir, 'offline-0.pid'), '1\n');
    clearRestartLocks(pidDir);
    expect(fs.readdirSync(pidDir)).toEqual(['offline-0.pid']);
  });
});
