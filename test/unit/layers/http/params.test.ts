import { BadRequestError } from '../../../../layers/errors';
import { idParam, intParam } from '../../../../layers/http/params';

const params = (value: string | undefined) => ({ amount: value, item_id: value });

describe('intParam', () => {
  it.each([
    ['0', 0],
    ['42', 42],
    ['9007199254740991', Number.MAX_SAFE_INTEGER],
  ])('accepts %s', (raw, expected) => {
    expect(intParam(params(raw), 'amount')).toBe(expected);
  });

  it.each([
    [undefined, 'amount is missing'],
    ['', 'amount is missing'],
    ['-1', 'amount must not be negative'],
    ['1.5', 'amount must be a whole number'],
    ['1e3', 'amount must be a whole number'],
    [' 1', 'amount must be a whole number'],
    ['0x10', 'amount must be a whole number'],
    ['9007199254740992', 'amount must be at most 9007199254740991'],
    ['99999999999999999999999', 'amount must be at most 9007199254740991'],
  ])('refuses %p with "%s"', (raw, message) => {
    expect(() => intParam(params(raw), 'amount')).toThrow(new BadRequestError(message));
  });

  it('refuses zero where a positive amount is needed', () => {
    expect(() => intParam(params('0'), 'amount', { min: 1 })).toThrow('amount must be positive');
  });

  it('refuses more than the given maximum', () => {
    expect(() => intParam(params('11'), 'amount', { max: 10 })).toThrow('amount must be at most 10');
  });
});

describe('idParam', () => {
  it.each(['0', '99999', 'f0e4c2f7-6b39-4c0e-9c3a-2d4e8b1a9f00', 'A_b-9'])('accepts %s', (id) => {
    expect(idParam(params(id), 'item_id')).toBe(id);
  });

  it.each([
    [undefined, 'item_id is missing'],
    ['x'.repeat(129), 'item_id is longer than 128 characters'],
    ["1' or '1'='1", "item_id may hold only letters, digits, '-' and '_'"],
    ['a/b', "item_id may hold only letters, digits, '-' and '_'"],
    ['é', "item_id may hold only letters, digits, '-' and '_'"],
  ])('refuses %p with "%s"', (raw, message) => {
    expect(() => idParam(params(raw), 'item_id')).toThrow(message);
  });

  it('accepts an id of exactly 128 characters', () => {
    expect(idParam(params('y'.repeat(128)), 'item_id')).toHaveLength(128);
  });
});
