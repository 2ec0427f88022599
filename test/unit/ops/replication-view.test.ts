import { replicationOf } from '../../../functions/ops/replication-view';

describe('replicationOf', () => {
  it.each([
    ['a standby confirming every commit', { expected: 1, streaming: 1, synchronous: true }, 'synchronous'],
    ['a standby streaming, commits not waiting for it', { expected: 1, streaming: 1, synchronous: false }, 'asynchronous'],
    ['a standby expected (its slot is there) but none streaming', { expected: 1, streaming: 0, synchronous: false }, 'unreplicated'],
    ['a standby lost before the primary stopped waiting for it', { expected: 1, streaming: 0, synchronous: true }, 'unreplicated'],
    ['no standby at all', { expected: 0, streaming: 0, synchronous: false }, 'single server'],
  ] as const)('%s: %s', (_what, primary, replication) => {
    expect(replicationOf(primary)).toBe(replication);
  });
});
