// The statistics panels, each drawn from one /api/v1/stats answer (or a message when it does not apply).
import { pick, t } from "./i18n.js";

function escapeHTML(text) {
  return String(text ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
}

function body(id) {
  return document.querySelector(`#${id} .body`);
}

function fmt(n) {
  return n === null || n === undefined ? "–" : Number(n).toLocaleString("zh-CN");
}

// What the comparison supports, as the statistics decide it (GET /api/v1/stats/compare): a window outside the
// data is "no data", never a change; partial data are shown but not flagged.
function readingCell(c) {
  if (c.status === "no_data") return `<td class="muted">${t("noData")}</td>`;
  const p = c.p_adjusted ?? c.p_value;
  const text = c.status === "partial" ? t("partial") : c.significant ? (c.difference > 0 ? t("sigUp") : t("sigDown")) : t("notSig");
  const cls = c.significant ? (c.difference > 0 ? "up sig" : "down sig") : "";
  return `<td class="${cls}" title="p = ${p === null || p === undefined ? "–" : p.toPrecision(2)}">${text}</td>`;
}

export function message(id, text, isError = false) {
  body(id).innerHTML = `<div class="${isError ? "up error" : "muted"}">${escapeHTML(text)}</div>`;
}

function lastDay(end) {
  return new Date(new Date(end).getTime() - 86400000).toISOString().slice(0, 10);
}

// The area's headline figures (GET /api/v1/stats) and a link to its printable briefing.
export function overviewPanel(data, onBriefing) {
  const h = data.holdings;
  const yoy = data.year_over_year;
  const pct = yoy.total.percent_change;
  body("p-overview").innerHTML =
    `<div class="figures"><div><span class="big" id="grid-total">${fmt(h.grids)}</span><span class="muted">${t("grids")}</span></div>` +
    `<div><span class="big" id="renovated-total">${fmt(h.renovated_compounds)}</span><span class="muted">${t("renovated")}</span></div>` +
    `<div><span class="big">${fmt(yoy.total.current)}</span><span class="muted">${t("incidents")}</span></div></div>` +
    `<div class="muted">${t("yoy")} ${yoy.previous.start} – ${lastDay(yoy.previous.end)}: ` +
    `${fmt(yoy.total.previous)} → ${fmt(yoy.total.current)} (${yoy.total.status === "no_data" || pct === null ? t("noBase") : (pct > 0 ? "+" : "") + pct.toFixed(1) + "%"})</div>` +
    `<div class="muted"><a id="briefing-link">${t("briefing")}</a></div>`;
  body("p-overview").querySelector("#briefing-link").addEventListener("click", onBriefing);
}

function phoneLink(phone) {
  if (!phone) return "–";
  return phone.includes("*") ? escapeHTML(phone) : `<a href="tel:${escapeHTML(phone)}">${escapeHTML(phone)}</a>`;
}

// Who to call: the community, the grid worker (grid level) and the community police officer(s).
export function contactsPanel(data) {
  const rows = [`<tr><td>${t("community")}</td><td>${escapeHTML(data.community.name)}</td><td></td></tr>`];
  if (data.grid_worker) {
    rows.push(`<tr><td>${t("worker")}</td><td>${escapeHTML(data.grid_worker.name || "–")}</td><td>${phoneLink(data.grid_worker.phone)}</td></tr>`);
  }
  for (const p of data.police) rows.push(`<tr><td>${t("police")}</td><td>${escapeHTML(p.name)}</td><td>${phoneLink(p.phone)}</td></tr>`);
  if (!data.police.length) rows.push(`<tr><td>${t("police")}</td><td>–</td><td></td></tr>`);
  body("p-contacts").innerHTML = `<table>${rows.join("")}</table>` + (data.phones_masked ? `<div class="muted">${t("masked")}</div>` : "");
}

export function scopePanel(scope, window, childLevel, childCount) {
  const last = new Date(new Date(window.end).getTime() - 86400000).toISOString().slice(0, 10);
  body("p-scope").innerHTML =
    `<div class="big">${escapeHTML(scope.name)}</div>` +
    `<div class="muted">${escapeHTML(scope.code)} · ${escapeHTML(pick(scope.level_label[0], scope.level_label[1]))}</div>` +
    `<div class="muted">${t("window")} ${window.start} – ${last}</div>` +
    (childLevel ? `<div class="muted">${childCount} × ${escapeHTML(childLevel)} · ${t("clickHint")}</div>` : `<div class="muted">${t("gridLevel")}</div>`);
}

export function countsPanel(data) {
  const max = Math.max(1, ...data.by_category.map((c) => c.count));
  const rows = data.by_category.map((c) =>
    `<tr><td>${escapeHTML(pick(c.label_zh, c.label_en))}</td><td>${fmt(c.count)}</td>` +
    `<td style="width:40%"><div class="bar" style="width:${(100 * c.count) / max}%"></div></td></tr>`);
  body("p-counts").innerHTML =
    `<div><span class="big" id="total-count">${fmt(data.total)}</span> <span class="muted">${t("total")}</span></div>` +
    `<table>${rows.join("")}</table>`;
}

export function comparePanel(data) {
  const head = `<tr><th>${t("category")}</th><th>${t("current")}</th><th>${t("previous")}</th><th>${t("change")}</th><th>${t("reading")}</th></tr>`;
  const row = (label, c) =>
    `<tr><td>${escapeHTML(label)}</td><td>${fmt(c.current)}</td><td>${fmt(c.previous)}</td>` +
    `<td>${c.percent_change === null ? "–" : (c.percent_change > 0 ? "+" : "") + c.percent_change.toFixed(1) + "%"}</td>` +
    `${readingCell(c)}</tr>`;
  const rows = [row(t("total"), data.total), ...data.by_category.map((c) => row(pick(c.label_zh, c.label_en), c))];
  const last = new Date(new Date(data.previous.end).getTime() - 86400000).toISOString().slice(0, 10);
  const warning = data.total.status === "no_data" ? `<div class="up" id="compare-no-data">${t("compareNoData")}</div>` : "";
  body("p-compare").innerHTML = `<table>${head}${rows.join("")}</table>${warning}` +
    `<div class="muted">${t("previousWindow")} ${data.previous.start} – ${last} · ${t("significant")} (α = ${data.alpha})</div>`;
}

export function zeroPanel(data, onPick) {
  const names = data.communities.slice(0, 12).map((c) => `<a data-code="${escapeHTML(c.code)}">${escapeHTML(c.name)}</a>`);
  body("p-zero").innerHTML =
    `<div><span class="big">${fmt(data.count)}</span> <span class="muted">${t("of")} ${fmt(data.total_communities)} ${t("communities")}</span></div>` +
    `<div class="muted">${names.join("、") || t("none")}${data.count > 12 ? " …" : ""}</div>`;
  for (const a of body("p-zero").querySelectorAll("a")) a.addEventListener("click", () => onPick(a.dataset.code));
}

export function disputePanel(data) {
  const total = data.total;
  const stage = (key, n, pct) =>
    `<tr><td>${t(key)}</td><td>${fmt(n)}</td><td>${pct === null ? "–" : pct.toFixed(1) + "%"}</td>` +
    `<td style="width:40%"><div class="bar" style="width:${total.logged ? (100 * n) / total.logged : 0}%"></div></td></tr>`;
  body("p-disputes").innerHTML = `<table>${stage("logged", total.logged, total.logged ? 100 : null)}` +
    `${stage("mediated", total.mediated, total.mediated_pct)}${stage("resolved", total.resolved, total.resolved_pct)}</table>`;
}

export function patrolPanel(routes, coverage, onMap, onSuggest) {
  const suggest = `<div><button type="button" id="suggest-patrol">${t("suggest")}</button> <span id="suggestion"></span></div>`;
  if (!routes.features.length) {
    body("p-patrol").innerHTML = `<div class="muted">${t("noRoutes")}</div>${suggest}`;
    body("p-patrol").querySelector("#suggest-patrol").addEventListener("click", onSuggest);
    return;
  }
  const pct = (x) => (x === null || x === undefined ? "–" : (100 * x).toFixed(0) + "%");
  const rows = routes.features.map((f) => {
    const p = f.properties;
    return `<tr><td>${escapeHTML(p.name)}</td><td>${((p.length_m || 0) / 1000).toFixed(1)} km</td>` +
      `<td><a data-route="${Number(f.id)}">${t("map")}</a></td></tr>`;
  });
  body("p-patrol").innerHTML = `<table>${rows.join("")}</table>` +
    `<div class="muted">${t("gridsCovered")} ${pct(coverage.area?.share_grids_covered)} · ` +
    `${t("withinReach")} ${pct(coverage.incidents?.share_within_reach)} (${coverage.reach_m} m)</div>${suggest}`;
  for (const a of body("p-patrol").querySelectorAll("a[data-route]")) a.addEventListener("click", () => onMap(a.dataset.route));
  body("p-patrol").querySelector("#suggest-patrol").addEventListener("click", onSuggest);
}

// A suggested patrol (POST /api/v1/patrols/suggest): its stops and a button to keep it.
export function suggestionPanel(feature, onSave) {
  const p = feature.properties;
  const stops = p.stops.map((s) => `<li>${escapeHTML(s.name)} · ${s.eta_minutes.toFixed(0)} min</li>`).join("");
  const box = body("p-patrol").querySelector("#suggestion");
  box.innerHTML = `<ol>${stops}</ol><div class="muted">${t("total")} ${p.total_minutes.toFixed(0)} / ${p.shift_minutes} min</div>` +
    (feature.geometry ? `<button type="button" id="save-patrol">${t("savePatrol")}</button>` : `<div class="muted">${t("noStop")}</div>`);
  const save = box.querySelector("#save-patrol");
  if (save) save.addEventListener("click", onSave);
}

export function topPanel(data, onPick) {
  const head = `<tr><th>${t("grid")}</th><th>${t("community")}</th><th>${t("incidents")}</th><th>${t("rate")}</th></tr>`;
  const rows = data.grids.map((g) =>
    `<tr><td><a data-code="${escapeHTML(g.grid_code)}">${escapeHTML(g.grid_name || g.grid_code)}</a></td>` +
    `<td>${escapeHTML(g.community_name)}</td><td>${fmt(g.count)}</td>` +
    `<td>${g.rate_per_1000_households === null ? "–" : g.rate_per_1000_households.toFixed(1)}</td></tr>`);
  body("p-top").innerHTML = rows.length ? `<table>${head}${rows.join("")}</table>` : `<div class="muted">${t("none")}</div>`;
  for (const a of body("p-top").querySelectorAll("a")) a.addEventListener("click", () => onPick(a.dataset.code));
}
