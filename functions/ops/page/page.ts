import app from 'browser-bundle:./app.ts';

/** The live view's page: everything it needs is in it (script and styles), so it loads nothing from anywhere else. */
export const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Shop · live view</title>
<link rel="icon" href="data:,">
<style>
  body { font: 14px/1.4 system-ui, sans-serif; margin: 1rem 2rem; color: #1f2328; }
  h1 { font-size: 1.4rem; margin: 0 0 .25rem; }
  h2 { font-size: 1.05rem; margin: 1.5rem 0 .5rem; }
  #status { color: #59636e; }
  .tiles { display: grid; grid-template-columns: repeat(auto-fit, minmax(9rem, 1fr)); gap: .75rem; margin: 1rem 0; }
  .tile { border: 1px solid #d1d9e0; border-radius: 6px; padding: .5rem .75rem; }
  .tile b { display: block; font-size: 1.4rem; font-variant-numeric: tabular-nums; }
  .charts { display: grid; grid-template-columns: repeat(auto-fit, minmax(26rem, 1fr)); gap: 1rem; }
  table { border-collapse: collapse; font-variant-numeric: tabular-nums; }
  th, td { text-align: left; padding: .2rem .75rem .2rem 0; border-bottom: 1px solid #eaeef2; }
  .bad { color: #cf222e; }
  .empty { color: #59636e; }
  #detail { border: 1px solid #d1d9e0; border-radius: 6px; padding: 0 1rem 1rem; margin-top: 1rem; }
</style>
</head>
<body>
<h1>Shop · live view</h1>
<div id="status">loading…</div>
<div class="tiles">
  <div class="tile">committed<b data-field="committed">–</b></div>
  <div class="tile">refused (409/404)<b data-field="refused">–</b></div>
  <div class="tile">aborted (timeout)<b data-field="aborted">–</b></div>
  <div class="tile">in flight<b data-field="inFlight">–</b></div>
  <div class="tile">oldest undecided<b data-field="oldestUndecidedMs">–</b></div>
  <div class="tile">decided, not acknowledged<b data-field="unacknowledged">–</b></div>
  <div class="tile">dead letters<b data-field-dead-letters>–</b></div>
</div>
<div class="charts"><div id="rates"></div><div id="latency"></div></div>
<section id="detail" hidden></section>
<h2>Undecided transactions, oldest first</h2><div id="undecided"></div>
<h2>Decided, not yet acknowledged by every participant</h2><div id="unacknowledged"></div>
<h2>Dead letters, latest first</h2><div id="dead-letters"></div>
<h2>Consumer groups: who does the work, and how far behind</h2><div id="lag"></div>
<h2>Shards</h2><p id="slot-maps"></p><div id="shards"></div>
<h2>Function instances (<span data-field-instance-count>–</span>)</h2><div id="instances"></div>
<script>${app.replace(/<\/script/gi, '<\\/script')}</script>
</body>
</html>
`;
