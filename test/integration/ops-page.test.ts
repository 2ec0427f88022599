import { type Browser, chromium, type Page } from 'playwright-core';
import { eventually } from './support/eventually';
import { checkoutInFlight, itemWith, orderOf, shop, userWith } from './support/shop';
import { gatewayUrl } from './support/stack';

/**
 * The live view in a real browser (the Debian `chromium`, driven by playwright-core): it loads
 * without errors, and its figures follow the shop.
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
