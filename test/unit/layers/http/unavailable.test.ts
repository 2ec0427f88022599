import { isUnavailable } from '../../../../layers/http/unavailable';

describe('isUnavailable', () => {
  it.each([
    ['a connection postgres.js lost', Object.assign(new Error('write CONNECTION_CLOSED 127.0.0.1:24410'), { code: 'CONNECTION_CLOSED' })],
    [
      'no primary among the hosts, mid-failover',
      Object.assign(new Error('write TARGET_SESSION_ATTRS_UNMET 127.0.0.1:24460'), { code: 'TARGET_SESSION_ATTRS_UNMET' }),
    ],
    ['a refused connect', Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:24410'), { code: 'ECONNREFUSED' })],
    ['a server shutting down (57P01)', Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' })],
    ['a server starting up (57P03)', Object.assign(new Error('the database system is starting up'), { code: '57P03' })],
    [
      'a statement cancelled past its bound (57014)',
      Object.assign(new Error('canceling statement due to statement timeout'), { code: '57014' }),
    ],
    [
      'a transaction ended past its idle bound (25P03)',
      Object.assign(new Error('terminating connection due to idle-in-transaction timeout'), { code: '25P03' }),
    ],
    [
      'a write refused by a standby still being promoted (25006)',
      Object.assign(new Error('cannot execute INSERT in a read-only transaction'), { code: '25006' }),
    ],
    ['a broker out of reach', Object.assign(new Error('Connection error: connect ECONNREFUSED'), { name: 'KafkaJSConnectionError' })],
  ])('counts %s', (_what, error) => {
    expect(isUnavailable(error)).toBe(true);
  });

  it.each([
    ['a constraint violation (23514)', Object.assign(new Error('violates check constraint'), { code: '23514' })],
    ['a syntax error (42601)', Object.assign(new Error('syntax error'), { code: '42601' })],
    ['a plain bug', new TypeError('cannot read properties of undefined')],
    ['not an error at all', 'text'],
  ])('does not count %s', (_what, error) => {
    expect(isUnavailable(error)).toBe(false);
  });
});
