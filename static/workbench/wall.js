// The wall screen (大屏): counts of open cases by colour, the map, and a ticker of steps as they happen.
import { escapeHTML, timeLeft } from "./http.js";

const $ = (id) => document.getElementById(id);
const TICKER_MAX = 30;

export function drawCounts(items) {
  const by = { green: 0, amber: 0, red: 0 };
  for (const c of items) if (c.colour in by) by[c.colour] += 1;
  const cells = [
    ["open", "在办案件", "Open", items.length],
    ["red", "超时", "Overdue", by.red],
    ["amber", "临期", "Due soon", by.amber],
    ["green", "正常", "On time", by.green],
  ];
  $("wb-wall-counts").innerHTML = cells
    .map(([key, zh, en, n]) => `<div data-count="${key}">${zh} ${en}<b>${n}</b></div>`)
    .join("");
}

export function tick(notice, label) {
  const li = document.createElement("li");
  li.dataset.case = notice.case_id;
  li.dataset.state = notice.state;
  li.dataset.version = notice.version;
  const at = new Date(notice.at);
  li.innerHTML = `${escapeHTML(at.toLocaleTimeString("zh-CN", { hour12: false }))} 案件 #${notice.case_id} ` +
    `<b>${escapeHTML(label || notice.step)}</b> → ${escapeHTML(notice.state)}`;
  const list = $("wb-ticker");
  list.prepend(li);
  while (list.children.length > TICKER_MAX) list.lastChild.remove();
}

export function queueRow(c, selected) {
  return `<li data-case="${c.id}" data-state="${c.state}" class="${c.colour || ""}" aria-selected="${selected}">
    <b>#${c.id}</b> ${escapeHTML(c.state_label)}<br>
    <small>${escapeHTML(c.category)} · ${escapeHTML(c.unit.code)}</small>
    <span class="left ${c.colour || ""}">${escapeHTML(timeLeft(c.deadline_at))}</span></li>`;
}
