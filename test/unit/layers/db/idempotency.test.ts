import { idForKey } from '../../../../layers/db/idempotency';

describe('idForKey', () => {
  it('names the same row for the same key, and another for another key or another kind of row', () => {
    expect(idForKey('item', 'k1')).toBe(idForKey('item', 'k1'));
    expect(idForKey('item', 'k2')).not.toBe(idForKey('item', 'k1'));
    expect(idForKey('user', 'k1')).not.toBe(idForKey('item', 'k1'));
  });

  it('is a version 8 UUID (RFC 9562) with the RFC variant', () => {
    expect(idForKey('order', 'a key')).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });

  it('keeps the kind and the key apart: no two pairs that join to the same text share an id', () => {
    expect(idForKey('ab', 'c')).not.toBe(idForKey('a', 'bc'));
  });
});
