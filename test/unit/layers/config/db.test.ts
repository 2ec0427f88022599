import { poolSettings, sslMode } from '../../../../layers/config/db';

describe('poolSettings', () => {
  it('opens two connections per shard without TLS by default', () => {
    expect(poolSettings({})).toEqual({ max: 2, ssl: 'disable' });
  });

  it('reads DB_POOL_MAX and DB_SSL', () => {
    expect(poolSettings({ DB_POOL_MAX: '8', DB_SSL: 'verify-full' })).toEqual({ max: 8, ssl: 'verify-full' });
  });

  it('refuses a pool size outside 1 to 100, naming the variable', () => {
    expect(() => poolSettings({ DB_POOL_MAX: '0' })).toThrow('DB_POOL_MAX=0 is not a whole number from 1 to 100');
    expect(() => poolSettings({ DB_POOL_MAX: '101' })).toThrow('DB_POOL_MAX=101 is not a whole number from 1 to 100');
  });
});

describe('sslMode', () => {
  it('refuses a mode it does not know, naming the variable', () => {
    expect(() => sslMode({ DB_SSL: 'prefer' })).toThrow('DB_SSL=prefer is not one of disable, require, verify-full');
  });
});
