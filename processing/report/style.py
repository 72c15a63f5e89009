"""The report's stylesheet (inlined into every HTML file, so the report needs no network)."""

from __future__ import annotations

CSS = """
:root { --left: #1f6fb4; --right: #d9610b; --ok: #2e9e5b; --watch: #c0392b;
        --ink: #1d2830; --muted: #5b6770; --line: #dfe5ea; --bg: #f4f6f8; }
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--ink);
       font: 15px/1.45 "DejaVu Sans", "Liberation Sans", Arial, sans-serif; }
main { max-width: 1200px; margin: 0 auto; padding: 0 24px 40px; }
header.top { background: #17324d; color: #fff; padding: 22px 0 18px; margin-bottom: 22px; }
header.top .inner { max-width: 1200px; margin: 0 auto; padding: 0 24px; display: flex;
       justify-content: space-between; align-items: flex-end; gap: 24px; flex-wrap: wrap; }
header.top h1 { margin: 0; font-size: 30px; letter-spacing: 0.2px; overflow-wrap: anywhere; }
header.top .kicker { text-transform: uppercase; font-size: 12px; letter-spacing: 1.5px;
       opacity: 0.75; margin-bottom: 4px; }
header.top dl { display: grid; grid-template-columns: auto auto; gap: 2px 14px; margin: 0;
       font-size: 13px; opacity: 0.92; }
header.top dt { opacity: 0.7; }
header.top dd { margin: 0; overflow-wrap: anywhere; max-width: 420px; }
section { background: #fff; border: 1px solid var(--line); border-radius: 8px;
       padding: 18px 22px 20px; margin: 0 0 20px; break-inside: avoid-page; }
h2 { margin: 0 0 4px; font-size: 21px; }
h2 .when { font-size: 13px; font-weight: normal; color: var(--muted); margin-left: 8px; }
h3 { margin: 18px 0 6px; font-size: 16px; }
h3 .when { font-size: 12.5px; font-weight: normal; color: var(--muted); margin-left: 8px; }
table.cuetable { max-width: 780px; table-layout: fixed; }
table.cuetable th:nth-child(3) { width: 34%; }
code.rule { font: 13px "DejaVu Sans Mono", "Liberation Mono", monospace; background: #edf0f2;
       padding: 1px 5px; border-radius: 3px; overflow-wrap: anywhere; }
p.lead { margin: 2px 0 12px; color: var(--muted); }
.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(250px, 1fr)); gap: 14px; }
.card { border: 1px solid var(--line); border-left: 6px solid #9aa5ae; border-radius: 6px;
       padding: 10px 14px; background: #fff; }
.card.typical { border-left-color: var(--ok); }
.card.watch { border-left-color: var(--watch); background: #fff7f5; }
.card .what { font-size: 13px; color: var(--muted); text-transform: uppercase;
       letter-spacing: 0.6px; }
.card .value { font-size: 24px; font-weight: bold; margin: 2px 0; }
.card .note { font-size: 13px; color: var(--muted); }
.lr { display: inline-block; min-width: 1.4em; padding: 0 5px; border-radius: 3px;
       color: #fff; font-size: 12px; font-weight: bold; text-align: center; }
.lr.l { background: var(--left); } .lr.r { background: var(--right); }
table { border-collapse: collapse; width: 100%; font-size: 14px; margin: 6px 0 10px; }
th, td { padding: 6px 8px; border-bottom: 1px solid var(--line); text-align: left;
       vertical-align: middle; }
th { font-size: 12px; text-transform: uppercase; letter-spacing: 0.5px; color: var(--muted);
       font-weight: bold; background: #f8fafb; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
td.num { white-space: nowrap; }
th.left { color: var(--left); } th.right { color: var(--right); }
td.left { color: var(--left); font-weight: bold; } td.right { color: var(--right);
       font-weight: bold; }
td.meaning { color: var(--muted); font-size: 13px; max-width: 380px; }
td.bars { width: 128px; }
.verdict { display: inline-block; padding: 1px 8px; border-radius: 10px; font-size: 12px;
       font-weight: bold; white-space: nowrap; }
.verdict.typical { background: #e3f4ea; color: #1f6e40; }
.verdict.watch { background: #fbe3de; color: #9c2a1d; }
.verdict.neutral { background: #edf0f2; color: #4a5560; }
tr.watch td { background: #fff4f1; }
td.asym.watch { color: var(--watch); font-weight: bold; }
.refnote { font-size: 12.5px; color: var(--muted); }
.refnote a, sup a { color: inherit; }
.figs { display: flex; flex-wrap: wrap; gap: 14px; margin-top: 8px; }
figure { margin: 0; display: table; }
figcaption { display: table-caption; caption-side: bottom; font-size: 12.5px;
       color: var(--muted); }
svg.chart { border: 1px solid var(--line); border-radius: 4px; background: #fff;
       display: block; }
.repgrid { display: grid; grid-template-columns: repeat(auto-fill, minmax(352px, 1fr)); gap: 12px; }
.rep { border: 1px solid var(--line); border-radius: 6px; padding: 6px; }
.rep svg.chart { border: none; }
.rep h4 { margin: 2px 4px 4px; font-size: 14px; }
.tag { display: inline-block; white-space: nowrap; padding: 0 6px; border-radius: 3px;
       font-size: 12px; font-weight: bold; }
.tag.hips { background: #e1f2e6; color: #1b6b32; } .tag.back { background: #efe5f5;
       color: #5e2d7c; }
ul.unavailable { margin: 4px 0 0; padding-left: 20px; color: var(--muted); font-size: 13px; }
details { margin-top: 8px; } summary { cursor: pointer; color: var(--muted); font-size: 13px; }
.quality-ok { color: #1f6e40; font-weight: bold; } .quality-watch { color: #9c2a1d;
       font-weight: bold; }
ol.refs { font-size: 13px; color: #36424b; padding-left: 22px; }
ol.refs li { margin-bottom: 6px; }
footer { color: var(--muted); font-size: 12px; text-align: center; margin: 10px 0 30px; }
.long { overflow-wrap: anywhere; }
.scroll-x { overflow-x: auto; max-width: 100%; }
@media (max-width: 900px) {
  main { padding: 0 10px 30px; }
  section { padding: 14px 12px; }
  td.bars, th.bars { display: none; }
  table { font-size: 13px; }
  th, td { padding: 5px 5px; }
  td.meaning { font-size: 12px; }
}
@media print {
  td.bars, th.bars { display: none; }
  table { font-size: 11px; }
  th, td { padding: 4px 5px; }
  .repgrid { grid-template-columns: repeat(3, 1fr); }
  body { background: #fff; font-size: 12px; }
  header.top { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
  section { border: none; padding: 8px 0; }
  .card.watch, tr.watch td, .verdict, .lr, .tag { -webkit-print-color-adjust: exact;
       print-color-adjust: exact; }
}
"""
