import uPlot from 'uplot';
import uPlotCss from 'uplot/dist/uPlot.min.css';
import type { OpsSummary } from '../summary-reads';
import type { TransactionDetail } from '../coordinator-view';

/** The live view in the browser: polls the summary every second and redraws, without reloading. */

const REFRESH_MS = 1_000;
/** A summary not back by then is given up, so one stuck request never stops the page. */
const SUMMARY_TIMEOUT_MS = 8_000;

const style = document.createElement('style');
style.textContent = uPlotCss;
document.head.append(style);

const $ = <E extends HTMLElement>(selector: string): E => {
  const element = document.querySelector<E>(selector);
  if (!element) throw new Error(`the page has no ${selector}`);
  return element;
};

const text = (value: unknown): string => (value === null || value === undefined ? '–' : String(value));
const escapeHtml = (value: unknown): string =>
  text(value).replace(/[&<>"']/g, (char) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[char]!);
const seconds = (ms: number | null): string => (ms === null ? '–' : ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`);
const count = (value: number | null | undefined): string => (value === null || value === undefined ? '–' : value.toLocaleString('en'));
/** A decimal string (a sum that may pass 2^53) with thousands separators, exactly. */
const exact = (value: string | undefined): string => (value === undefined ? '–' : value.replace(/\B(?=(\d{3})+(?!\d))/g, ','));
const txnLink = (txnId: string): string =>
  `<a href="#txn=${encodeURIComponent(txnId)}" data-txn="${escapeHtml(txnId)}">${escapeHtml(txnId)}</a>`;

/** A shard whose standby is lost takes writes with no copy elsewhere: shown as a fault until it is back. */
function replicationCell(replication: OpsSummary['shards'][number]['replication']): string {
  if (replication === undefined) return '–';
  if (replication === 'unreplicated') return '<span class="bad">standby lost: commits not replicated</span>';
  return replication === 'synchronous' ? 'synchronous standby' : replication === 'asynchronous' ? 'asynchronous standby' : 'single server';
}

function table(selector: string, headers: string[], rows: string[][], empty: string): void {
  $(selector).innerHTML = rows.length
    ? `<table><thead><tr>${headers.map((header) => `<th>${header}</th>`).join('')}</tr></thead><tbody>${rows
        .map((cells) => `<tr>${cells.map((cell) => `<td>${cell}</td>`).join('')}</tr>`)
        .join('')}</tbody></table>`
    : `<p class="empty">${empty}</p>`;
}

function chart(selector: string, title: string, unit: string, series: { label: string; stroke: string }[]): uPlot {
  const target = $(selector);
  return new uPlot(
    {
      title,
      width: Math.max(320, target.clientWidth),
      height: 220,
      scales: { x: { time: true } },
      axes: [{ label: 'time' }, { label: unit, size: 60 }],
      series: [{}, ...series.map(({ label, stroke }) => ({ label, stroke, width: 2, spanGaps: false }))],
    },
    [[], ...series.map(() => [])],
    target,
  );
}

const rates = chart('#rates', 'Checkouts per second', 'checkouts / s', [
  { label: 'committed', stroke: '#1a7f37' },
  { label: 'refused (409/404)', stroke: '#9a6700' },
  { label: 'aborted (timeout)', stroke: '#cf222e' },
]);
const latency = chart('#latency', 'Latency, claim → decision', 'ms', [
  { label: 'p50', stroke: '#0969da' },
  { label: 'p99', stroke: '#8250df' },
]);

function render(summary: OpsSummary): void {
  for (const element of document.querySelectorAll<HTMLElement>('[data-field]')) {
    const field = element.dataset.field as keyof OpsSummary;
    const value = summary[field];
    element.textContent = field === 'oldestUndecidedMs' ? seconds(value as number | null) : count(value as number | null);
  }
  $('[data-field-dead-letters]').textContent = count(summary.deadLetters.count);
  $('[data-field-instance-count]').textContent = summary.instances === null ? 'Lambda' : String(summary.instances.length);

  // Seconds with no decision are zero, not missing: fill the gaps of the last five minutes.
  const bySecond = new Map(summary.perSecond.map((second) => [second.at, second]));
  const last = Math.floor(summary.at / 1000) * 1000;
  const xs: number[] = [];
  for (let at = last - 299_000; at <= last; at += 1000) xs.push(at);
  const pick = (key: 'committed' | 'refused' | 'aborted') => xs.map((at) => bySecond.get(at)?.[key] ?? 0);
  rates.setData([xs.map((at) => at / 1000), pick('committed'), pick('refused'), pick('aborted')]);
  latency.setData([
    xs.map((at) => at / 1000),
    xs.map((at) => bySecond.get(at)?.p50Ms ?? null),
    xs.map((at) => bySecond.get(at)?.p99Ms ?? null),
  ] as uPlot.AlignedData);

  table(
    '#undecided',
    ['transaction', 'order', 'age'],
    summary.undecided.map((txn) => [txnLink(txn.txnId), escapeHtml(txn.orderId), seconds(txn.ageMs)]),
    'none: every transaction is decided',
  );
  table(
    '#unacknowledged',
    ['transaction', 'decision', 'decided', 'waiting for'],
    summary.oldestUnacknowledged.map((txn) => [
      txnLink(txn.txnId),
      escapeHtml(txn.state),
      `${seconds(txn.decidedAgoMs)} ago`,
      escapeHtml(txn.missing.join(', ')),
    ]),
    'none: every decision is acknowledged',
  );
  table(
    '#dead-letters',
    ['parked', 'reason', 'from', 'key'],
    summary.deadLetters.latest.map((letter) => [
      new Date(letter.at).toISOString(),
      escapeHtml(letter.reason),
      escapeHtml(letter.source),
      escapeHtml(letter.key),
    ]),
    summary.deadLetters.error ? `could not be read: ${escapeHtml(summary.deadLetters.error)}` : 'none',
  );
  const lagByGroup = new Map<string, NonNullable<OpsSummary['consumerLag']>>();
  for (const lag of summary.consumerLag ?? [])
    lagByGroup.set(`${lag.group} ${lag.topic}`, [...(lagByGroup.get(`${lag.group} ${lag.topic}`) ?? []), lag]);
  const holders = new Map((summary.consumerGroups ?? []).map((group) => [group.group, group]));
  table(
    '#lag',
    ['group', 'topic', 'held by', 'lag', 'largest, partition', 'by partition'],
    [...lagByGroup.values()].map((partitions) => {
      const { group, topic } = partitions[0]!;
      const largest = partitions.reduce((max, lag) => (lag.lag > max.lag ? lag : max));
      const held = holders.get(group);
      return [
        escapeHtml(group),
        escapeHtml(topic),
        held
          ? escapeHtml(held.holders.map((holder) => `${holder.instance} (${holder.partitions})`).join(', ') || 'nobody') +
            (held.standingBy ? `; ${held.standingBy} standing by` : '')
          : '–',
        count(partitions.reduce((sum, lag) => sum + lag.lag, 0)),
        `${count(largest.lag)} (${largest.partition})`,
        `<details><summary>${partitions.length} partitions</summary>${partitions.map((lag) => `${lag.partition}: ${count(lag.committed)} of ${count(lag.end)}, lag ${count(lag.lag)}`).join('<br>')}</details>`,
      ];
    }),
    summary.consumerLag === null ? 'Kafka could not be read' : 'no consumer group',
  );
  table(
    '#shards',
    [
      'shard',
      'up',
      'replication',
      'hash slots',
      'rows',
      'free',
      'held in escrow',
      'as of',
      'in flight',
      'unacknowledged',
      'agrees with its coordinators',
    ],
    summary.shards.map((shard) => [
      escapeHtml(shard.name),
      shard.up ? 'yes' : `<span class="bad">no: ${escapeHtml(shard.error)}</span>`,
      replicationCell(shard.replication),
      count(shard.slots),
      count(shard.rows),
      exact(shard.free),
      exact(shard.held),
      shard.figuresAt === undefined ? '–' : new Date(shard.figuresAt).toLocaleTimeString('en-GB'),
      count(shard.inFlight),
      count(shard.unacknowledged),
      shard.agrees === undefined
        ? '–'
        : shard.agrees
          ? 'yes'
          : `<span class="bad">no: ${escapeHtml(shard.disagreements?.join('; '))}</span>`,
    ]),
    'no shard',
  );
  $('#slot-maps').textContent = (['order', 'stock', 'payment'] as const)
    .map((service) => {
      const map = summary.slotMaps[service];
      const moving = map.pending ? `, ${map.pending.kind === 'add' ? 'adding' : 'removing'} ${map.pending.shard}` : '';
      const retired = map.retired.length ? `, retired ${map.retired.join(', ')}` : '';
      return `${service}: slot map v${map.version} of ${map.slotCount} slots${moving}${retired}`;
    })
    .join(' · ');
  // Each instance's share of the work: the consumer groups whose partitions it holds (HTTP requests are spread by the gateway).
  const heldBy = (name: string) =>
    (summary.consumerGroups ?? []).flatMap((group) =>
      group.holders
        .filter((holder) => holder.instance === name)
        .map((holder) => `${group.group.replace(/^.*?-.*?-/, '')} (${holder.partitions})`),
    );
  table(
    '#instances',
    ['instance', 'pid', 'up', 'consumer groups it works for (partitions)'],
    (summary.instances ?? []).map((instance) => [
      escapeHtml(instance.name),
      String(instance.pid),
      instance.up ? 'yes' : '<span class="bad">no</span>',
      escapeHtml(heldBy(instance.name).join(', ') || 'none: standing by'),
    ]),
    summary.instances === null ? 'Lambda: as many containers as it needs' : 'no instance',
  );
  $('#status').textContent =
    `updated ${new Date(summary.at).toLocaleTimeString('en-GB')}${summary.errors.length ? ` · unreadable: ${summary.errors.join('; ')}` : ''}`;
}

async function showDetail(): Promise<void> {
  const txnId = new URLSearchParams(location.hash.slice(1)).get('txn');
  const panel = $('#detail');
  if (!txnId) {
    panel.hidden = true;
    return;
  }
  panel.hidden = false;
  const reply = await fetch(`transactions/${encodeURIComponent(txnId)}`);
  if (!reply.ok) {
    panel.innerHTML = `<h2>Transaction ${escapeHtml(txnId)}</h2><p>${escapeHtml(((await reply.json()) as { error?: string }).error ?? reply.statusText)}</p>`;
    return;
  }
  const txn = (await reply.json()) as TransactionDetail;
  const row = (label: string, value: string) => `<tr><th>${label}</th><td>${value}</td></tr>`;
  panel.innerHTML = `<h2>Transaction ${escapeHtml(txn.txnId)}</h2><table>${[
    row('order', `${escapeHtml(txn.orderId)} (order shard ${txn.orderShard})`),
    row(
      'decision',
      escapeHtml(txn.state) +
        (txn.abortReason ? `: ${escapeHtml(txn.abortReason)}${txn.abortDetail ? ` (${escapeHtml(txn.abortDetail)})` : ''}` : ''),
    ),
    row('participants', escapeHtml(txn.participants.join(', '))),
    row('voted yes', escapeHtml(txn.votedYes.join(', ') || 'none')),
    row('acknowledged', escapeHtml(txn.acknowledged.join(', ') || 'none')),
    row('decision sent again', `${txn.resends} times`),
    row('claimed', escapeHtml(txn.times.claimed)),
    row('deadline', escapeHtml(txn.times.deadline)),
    row('decided', escapeHtml(txn.times.decided ?? 'not yet')),
    row('acknowledged by all', escapeHtml(txn.times.acknowledged ?? 'not yet')),
  ].join('')}</table>`;
}

async function refresh(): Promise<void> {
  try {
    const reply = await fetch('summary', { cache: 'no-store', signal: AbortSignal.timeout(SUMMARY_TIMEOUT_MS) });
    if (!reply.ok) throw new Error(`summary answered ${reply.status}`);
    render((await reply.json()) as OpsSummary);
  } catch (error) {
    $('#status').textContent = `not updated: ${error instanceof Error ? error.message : String(error)}`;
  } finally {
    setTimeout(() => void refresh(), REFRESH_MS);
  }
}

window.addEventListener('hashchange', () => void showDetail());
window.addEventListener('resize', () => {
  for (const [plot, selector] of [
    [rates, '#rates'],
    [latency, '#latency'],
  ] as const) {
    plot.setSize({ width: Math.max(320, $(selector).clientWidth), height: 220 });
  }
});
void showDetail();
void refresh();
