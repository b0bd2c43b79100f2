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

function zCell(z, significant) {
  const cls = `${z > 0 ? "up" : z < 0 ? "down" : ""} ${significant ? "sig" : ""}`;
  return `<td class="${cls}">${z > 0 ? "+" : ""}${z.toFixed(2)}</td>`;
}

export function message(id, text, isError = false) {
  body(id).innerHTML = `<div class="${isError ? "up" : "muted"}">${escapeHTML(text)}</div>`;
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
  const head = `<tr><th>${t("category")}</th><th>${t("current")}</th><th>${t("previous")}</th><th>${t("change")}</th><th>${t("z")}</th></tr>`;
  const row = (label, c) =>
    `<tr><td>${escapeHTML(label)}</td><td>${fmt(c.current)}</td><td>${fmt(c.previous)}</td>` +
    `<td>${c.percent_change === null ? "–" : (c.percent_change > 0 ? "+" : "") + c.percent_change.toFixed(1) + "%"}</td>` +
    `${zCell(c.z_score, c.significant)}</tr>`;
  const rows = [row(t("total"), data.total), ...data.by_category.map((c) => row(pick(c.label_zh, c.label_en), c))];
  const last = new Date(new Date(data.previous.end).getTime() - 86400000).toISOString().slice(0, 10);
  body("p-compare").innerHTML = `<table>${head}${rows.join("")}</table>` +
    `<div class="muted">${t("previousWindow")} ${data.previous.start} – ${last} · ${t("significant")}</div>`;
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

export function patrolPanel(routes, coverage, onMap) {
  if (!routes.features.length) {
    message("p-patrol", t("noRoutes"));
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
    `${t("withinReach")} ${pct(coverage.incidents?.share_within_reach)} (${coverage.reach_m} m)</div>`;
  for (const a of body("p-patrol").querySelectorAll("a")) a.addEventListener("click", () => onMap(a.dataset.route));
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
