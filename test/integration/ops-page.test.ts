import { type Browser, chromium, type Page } from 'playwright-core';
import type { OpsSummary } from '../../functions/ops/summary';
import { ProcessRegistry } from '../../infra/stack/processes';
import { eventually } from './support/eventually';
import { checkoutInFlight, itemWith, orderOf, shop, userWith } from './support/shop';
import { gatewayUrl, stackConfig } from './support/stack';

/**
 * The live view in a real browser (the Debian `chromium`, driven by playwright-core): it loads
 * without errors, its figures follow the shop, and a stuck transaction shows up and goes away.
 */
const CHROMIUM = process.env.SHOP_CHROMIUM ?? '/usr/bin/chromium';

let browser: Browser;
let page: Page;
const problems: string[] = [];

beforeAll(async () => {
  browser = await chromium.launch({ executablePath: CHROMIUM });
  page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  page.on('console', (message) => {
    if (message.type() === 'error' || message.type() === 'warning') problems.push(`${message.type()}: ${message.text()}`);
  });
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  await page.goto(`${gatewayUrl}/ops/`);
});

afterAll(() => browser?.close());

/** A figure of the page as a number, once the page has shown one. */
const shown = async (field: string): Promise<number | undefined> => {
  const text = (await page.locator(`[data-field="${field}"]`).textContent())?.replace(/,/g, '') ?? '';
  return /^\d+$/.test(text) ? Number(text) : undefined;
};

it('loads without console errors and shows the shop’s figures', async () => {
  await eventually('the committed count on the page', () => shown('committed'), 15_000);
  expect(await page.locator('#shards table').textContent()).toContain('stock-0');
  expect(await page.locator('#instances table').textContent()).toContain('offline-0');
  expect(await page.locator('#rates canvas').count()).toBe(1);
  expect(problems).toEqual([]);
});

it('shows the committed count rising while checkouts run', async () => {
  const before = (await eventually('the committed count on the page', () => shown('committed'), 15_000))!;
  const item = await itemWith(1, 50);
  const buyer = await userWith(50);
  const orders = await Promise.all(Array.from({ length: 20 }, () => orderOf(buyer, [[item, 1]])));
  const { statuses } = checkoutInFlight(orders, 8);
  expect(await statuses).toEqual(orders.map(() => 200));

  const after = await eventually('the page to count the 20 checkouts', async () => {
    const committed = await shown('committed');
    return committed !== undefined && committed >= before + 20 ? committed : undefined;
  });
  expect(after).toBeGreaterThanOrEqual(before + 20);
  expect(problems).toEqual([]);
});

it('shows a transaction left undecided by a frozen instance, with its age, until it is resolved', async () => {
  const summary = (await shop.request('GET', '/ops/summary')).body as unknown as OpsSummary;
  const holder = summary.consumerGroups!.find((group) => group.group.endsWith('-stockInstructions'))!.holders[0]!.instance;
  const pid = new ProcessRegistry(stackConfig.runDir).pidOf(holder)!;
  const item = await itemWith(1, 10);
  const buyer = await userWith(10);
  const orders = await Promise.all(Array.from({ length: 4 }, () => orderOf(buyer, [[item, 1]])));

  // The instance that consumes the stock participants' instructions stops: Prepares wait, votes do not come.
  process.kill(-pid, 'SIGSTOP');
  try {
    const { statuses } = checkoutInFlight(orders, 4);
    const age = await eventually(
      'an undecided transaction on the page, at least a second old',
      async () => {
        const rows = await page.locator('#undecided tbody tr').allTextContents();
        const ages = rows.map((row) => /(\d+(?:\.\d+)?) (ms|s)$/.exec(row)).map((match) => (match ? Number(match[1]) * (match[2] === 's' ? 1000 : 1) : 0));
        const oldest = Math.max(0, ...ages);
        return oldest >= 1000 ? oldest : undefined;
      },
      stackConfig.checkoutTimeoutMs + 20_000,
    );
    expect(age).toBeGreaterThanOrEqual(1000);
    expect(await page.locator('[data-field="oldestUndecidedMs"]').textContent()).toMatch(/\d/);
    // Past the 2PC timeout the checkouts abort what is undecided (or the group moves and it is decided).
    await eventually('the undecided transactions to be resolved and leave the page', async () =>
      (await page.locator('#undecided tbody tr').count()) === 0 ? true : undefined,
      stackConfig.checkoutTimeoutMs + 30_000,
    );
    process.kill(-pid, 'SIGCONT');
    expect((await statuses).every((status) => [200, 503].includes(status))).toBe(true);
  } finally {
    process.kill(-pid, 'SIGCONT');
  }
  // The shop is whole again before the next test: a fresh checkout commits.
  await eventually('a checkout to commit again after SIGCONT', async () => {
    const order = await orderOf(buyer, [[item, 1]]);
    return (await shop.checkout(order)).status === 200 ? true : undefined;
  }, 60_000);
  expect(problems.filter((problem) => !problem.includes('Failed to load resource'))).toEqual([]);
}, 120_000);
