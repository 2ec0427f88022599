import fc from 'fast-check';
import { brokenRules, clone, deliver, newWorld, resend, timeout, type World } from './protocol-model';

/**
 * Every schedule of one transaction's messages: any delivery order, any message delivered a
 * second time (up to a budget), the deadline passing at any moment, the resolver re-sending at
 * any moment. Explores all of them depth-first, skipping states already seen.
 */
function exploreAll(start: World, { maxDuplicates, maxResends }: { maxDuplicates: number; maxResends: number }) {
  const seen = new Set<string>();
  let finalStates = 0;
  const failures: string[] = [];
  const visit = (world: World) => {
    // The network is a multiset: order in the array means nothing, so it is sorted for the key.
    const key = JSON.stringify({ ...world, network: world.network.map((message) => JSON.stringify(message)).sort() });
    if (seen.has(key) || failures.length > 0) return;
    seen.add(key);
    if (world.violations.length > 0) {
      failures.push(world.violations.join('; '));
      return;
    }
    if (world.network.length === 0) {
      finalStates++;
      const broken = brokenRules(world);
      if (broken.length > 0) failures.push(`${broken.join('; ')} in ${key}`);
    }
    const distinct = new Set<string>();
    world.network.forEach((message, index) => {
      const text = JSON.stringify(message);
      if (distinct.has(text)) return;
      distinct.add(text);
      const next = clone(world);
      deliver(next, index);
      visit(next);
      if (world.duplicates < maxDuplicates) {
        const twice = clone(world);
        deliver(twice, index, true);
        visit(twice);
      }
    });
    if (!world.timedOut) {
      const next = clone(world);
      timeout(next);
      visit(next);
    }
    if (world.resends < maxResends && world.txn.state !== 'preparing') {
      const next = clone(world);
      resend(next);
      visit(next);
    }
  };
  visit(start);
  return { finalStates, failures, explored: seen.size };
}

describe('two-phase commit, every interleaving', () => {
  it.each([[[true, true]], [[true, false]], [[false, true]], [[false, false]]])(
    'with two participants that can reserve %p: one decision, all or nothing, all acknowledged',
    (canReserve) => {
      const result = exploreAll(newWorld(canReserve), { maxDuplicates: 1, maxResends: 1 });

      expect(result.failures).toEqual([]);
      expect(result.finalStates).toBeGreaterThan(50);
    },
  );

  it.each([[[true, true, true]], [[true, true, false]]])(
    'with three participants that can reserve %p, single delivery plus the deadline',
    (canReserve) => {
      const result = exploreAll(newWorld(canReserve), { maxDuplicates: 0, maxResends: 0 });

      expect(result.failures).toEqual([]);
      expect(result.finalStates).toBeGreaterThan(50);
    },
  );
});

describe('two-phase commit, random schedules with many duplicates (three participants)', () => {
  it('keeps every rule', () => {
    fc.assert(
      fc.property(
        fc.array(fc.boolean(), { minLength: 3, maxLength: 3 }),
        fc.array(fc.tuple(fc.nat(), fc.nat(9)), { maxLength: 200 }),
        (canReserve, choices) => {
          const world = newWorld(canReserve);
          for (const [pick, action] of choices) {
            if (world.network.length === 0) break;
            if (action === 0 && !world.timedOut) timeout(world);
            else if (action === 1 && world.txn.state !== 'preparing') resend(world);
            else deliver(world, pick % world.network.length, action <= 4);
          }
          while (world.network.length > 0) deliver(world, 0);
          expect(brokenRules(world)).toEqual([]);
        },
      ),
      { numRuns: 3000 },
    );
  });
});
