// The command-centre dashboard: filters, drill-down (city → county → town → community → grid), panels, map tabs.
import { ApiError, getBlob, getHTML, getJSON, getToken, meta as fetchMeta, postJSON, setToken } from "./api.js";
import { applyLabels, pick, t, toggleLang } from "./i18n.js";
import { childLabel, createMap, drawScope, drawSuggestion, fitForPrint, invalidate } from "./map.js";
import * as panels from "./panels.js";

const DEV_TOKEN = "dev-admin-token"; // the documented development token; offered only when the server says so
// gen: each load() takes the next number; answers that arrive for an older one are dropped, so a slow panel
// of the area just left can never overwrite the area now shown. home: the user's own area (from /api/v1/me).
const state = { code: null, home: null, start: null, end: null, tab: "live", meta: null, gen: 0 };
const $ = (id) => document.getElementById(id);

function status(text, isError = false) {
  $("status").textContent = text;
  $("status").className = isError ? "error" : "";
}

function shiftDay(iso, days) {
  const d = new Date(iso + "T00:00:00Z");
  d.setUTCDate(d.getUTCDate() + days);
  return d.toISOString().slice(0, 10);
}

function categoriesParam() {
  const boxes = [...document.querySelectorAll("#cat-list input")];
  const chosen = boxes.filter((b) => b.checked).map((b) => b.value);
  return chosen.length === boxes.length ? null : chosen;
}

function explain(err) {
  if (err instanceof ApiError && (err.status === 401 || err.status === 403)) return t("badToken");
  return `${t("failed")}: ${err.message}`;
}

function renderCategories() {
  const list = $("cat-list");
  const checked = new Set([...list.querySelectorAll("input")].filter((b) => b.checked).map((b) => b.value));
  const first = list.children.length === 0;
  list.innerHTML = state.meta.categories
    .map((c) => `<label><input type="checkbox" value="${c.key}" ${first || checked.has(c.key) ? "checked" : ""}> ${pick(c.zh, c.en)}</label>`)
    .join("");
}

function renderTabs() {
  const tabs = [{ kind: "live", zh: t("live"), en: t("live") }, ...state.meta.maps];
  $("tabs").innerHTML = tabs
    .map((m) => `<button type="button" role="tab" data-kind="${m.kind}" aria-selected="${m.kind === state.tab}">${pick(m.zh, m.en)}</button>`)
    .join("");
  for (const b of $("tabs").querySelectorAll("button")) b.addEventListener("click", () => showTab(b.dataset.kind));
}

function renderCrumbs(chain) {
  // Units above the user's own area are shown, not offered: drill-down goes only below it.
  const home = chain.findIndex((c) => c.code === state.home);
  $("crumbs").innerHTML = chain
    .map((c, i) => (i === chain.length - 1 ? `<b>${escape(c.name)}</b>` : i < home ? `<span>${escape(c.name)}</span>` : `<a data-code="${escape(c.code)}">${escape(c.name)}</a>`))
    .join('<span class="sep">›</span>');
  for (const a of $("crumbs").querySelectorAll("a")) a.addEventListener("click", () => load(a.dataset.code));
}

function escape(text) {
  return String(text ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
}

async function showTab(kind, path = `/maps/${kind}`, params = null) {
  state.tab = kind;
  renderTabs();
  const frame = $("map-frame");
  if (kind === "live") {
    frame.hidden = true;
    frame.removeAttribute("srcdoc");
    $("map").style.visibility = "visible";
    invalidate();
    return;
  }
  status(t("loading"));
  try {
    // fetch() with the Authorization header, then srcdoc: the token never appears in a URL.
    const html = await getHTML(path, params || { admin_code: state.code, start: state.start, end: state.end, category: categoriesParam() });
    if (state.tab !== kind) return;
    frame.dataset.loaded = "";
    frame.onload = () => { frame.dataset.loaded = kind; };
    frame.srcdoc = html;
    frame.hidden = false;
    $("map").style.visibility = "hidden";
    status("");
  } catch (err) {
    status(explain(err), true);
  }
}

const PANELS = ["p-counts", "p-compare", "p-zero", "p-disputes", "p-top", "p-patrol", "p-contacts"];

async function loadPanels(scope, gen) {
  const base = { admin_code: state.code, start: state.start, end: state.end };
  const params = { ...base, categories: categoriesParam() };
  const isGrid = scope.level === "grid";
  const fresh = (draw) => (data) => (gen === state.gen ? draw(data) : undefined);
  const jobs = [
    ["p-counts", () => getJSON("/api/v1/stats/counts", params).then(fresh(panels.countsPanel))],
    ["p-compare", () => getJSON("/api/v1/stats/compare", params).then(fresh(panels.comparePanel))],
    ["p-zero", () => (isGrid ? panels.message("p-zero", t("notForGrid")) : getJSON("/api/v1/stats/zero-incident", base).then(fresh((d) => panels.zeroPanel(d, load))))],
    ["p-disputes", () => (isGrid ? panels.message("p-disputes", t("notForGrid")) : getJSON("/api/v1/stats/disputes", base).then(fresh(panels.disputePanel)))],
    ["p-top", () => getJSON("/api/v1/stats/top-grids", { ...params, n: 10 }).then(fresh((d) => panels.topPanel(d, load)))],
    ["p-patrol", () => patrols(scope, fresh)],
    ["p-contacts", () => (isGrid || scope.level === "community" ? getJSON(`/api/v1/dashboard/contacts/${scope.code}`).then(fresh(panels.contactsPanel)) : panels.message("p-contacts", t("pickGrid")))],
  ];
  for (const id of PANELS) panels.message(id, t("loading")); // never the area just left's numbers
  // Promise.resolve().then(job): a job that draws a message at once returns no promise; .catch still applies.
  const failed = await Promise.all(jobs.map(([id, job]) => Promise.resolve().then(job).then(() => false, (err) => {
    if (gen === state.gen) panels.message(id, explain(err), true);
    return true;
  })));
  return failed.some(Boolean);
}

async function patrols(scope, fresh) {
  const community = scope.level === "grid" ? scope.code.slice(0, 12) : scope.level === "community" ? scope.code : null;
  if (!community) return panels.message("p-patrol", t("pickCommunity"));
  const [routes, coverage] = await Promise.all([
    getJSON("/api/v1/patrols/routes", { community_code: community }),
    getJSON("/api/v1/patrols/coverage", { community_code: community }),
  ]);
  // A route's map is another tab-like view in the same frame (fetched with the token, shown via srcdoc).
  const onMap = (id) => showTab(`patrol-${id}`, `/maps/patrol/${id}`, {});
  fresh(() => panels.patrolPanel(routes, coverage, onMap, () => suggestPatrol(community)))();
}

// Ask for a suggested patrol for the community's officer, draw it, and keep it on request.
async function suggestPatrol(community) {
  const gen = state.gen;
  status(t("loading"));
  try {
    const who = await getJSON(`/api/v1/dashboard/contacts/${community}`);
    const officer = who.police[0];
    const ask = { community_code: community, shift_minutes: 120, mode: "walk", ...(officer ? { officer_id: officer.id } : {}) };
    const feature = await postJSON("/api/v1/patrols/suggest", ask);
    if (gen !== state.gen) return;
    drawSuggestion(feature);
    panels.suggestionPanel(feature, () => savePatrol(feature, officer));
    status("");
  } catch (err) {
    status(explain(err), true);
  }
}

async function savePatrol(feature, officer) {
  if (!officer && !feature.properties.route.officer_id) return status(t("noOfficer"), true);
  const route = { ...feature.properties.route, officer_id: feature.properties.route.officer_id || officer.id };
  try {
    await postJSON("/api/v1/patrols/routes", route);
    status(t("saved"));
    document.body.dataset.saved = "patrol";
    await load();
  } catch (err) {
    status(explain(err), true);
  }
}

async function downloadBriefing() {
  status(t("loading"));
  try {
    const blob = await getBlob("/api/v1/briefings", { admin_code: state.code, start: state.start, end: state.end });
    const a = document.createElement("a");
    a.href = URL.createObjectURL(blob);
    a.download = `briefing-${state.code}-${state.start}.pdf`;
    a.click();
    setTimeout(() => URL.revokeObjectURL(a.href), 60_000);
    status("");
  } catch (err) {
    status(explain(err), true);
  }
}

async function load(code) {
  if (code) state.code = code;
  const gen = ++state.gen;
  status(t("loading"));
  document.body.dataset.loading = "true";
  document.body.dataset.state = "loading";
  let outcome = "error";
  try {
    const tiles = state.meta.tiles;
    const data = await getJSON("/api/v1/dashboard/scope", {
      admin_code: state.code, start: state.start, end: state.end, category: categoriesParam(),
      grid_geometry: tiles ? "false" : null,
    });
    if (gen !== state.gen) return;
    state.start = data.window.start;
    state.end = data.window.end;
    $("start").value = state.start;
    $("end").value = shiftDay(state.end, -1);
    renderCrumbs(data.breadcrumb);
    drawScope(data, (child) => load(child), state.meta.tiles, getToken());
    panels.scopePanel(data.scope, data.window, data.child_level && childLabel(data.child_level), data.children.features.length);
    status("");
    const [panelFailed] = await Promise.all([loadPanels(data.scope, gen), overview(gen)]);
    if (gen !== state.gen) return;
    if (state.tab.startsWith("patrol-")) await showTab("live"); // a route map belongs to the scope left behind
    else if (state.tab !== "live") await showTab(state.tab);
    outcome = panelFailed || $("status").className === "error" ? "error" : "ready";
  } catch (err) {
    if (gen === state.gen) status(explain(err), true);
  } finally {
    if (gen === state.gen) {
      document.body.dataset.loading = "false";
      document.body.dataset.scope = state.code;
      document.body.dataset.state = outcome; // tests wait for ready|error, never for "finished somehow"
    }
  }
}

async function overview(gen) {
  try {
    const data = await getJSON("/api/v1/stats", { admin_code: state.code, start: state.start, end: state.end });
    if (gen === state.gen) panels.overviewPanel(data, downloadBriefing);
  } catch (err) {
    if (gen === state.gen) panels.message("p-overview", explain(err), true);
    throw err;
  }
}

// The dashboard opens on the user's own area (/api/v1/me), not the city.
async function loadHome() {
  try {
    const me = await getJSON("/api/v1/me", {});
    state.code = state.home = me.area.code;
  } catch (err) {
    status(err instanceof ApiError ? err.message : String(err), true);
    return;
  }
  await load();
}

async function init() {
  applyLabels();
  state.meta = await fetchMeta();
  state.code = state.meta.city_code;
  if (!getToken() && state.meta.env === "development") setToken(DEV_TOKEN);
  $("token").value = getToken();
  renderCategories();
  renderTabs();
  createMap(state.meta);
  window.addEventListener("beforeprint", fitForPrint);
  window.matchMedia("print").addEventListener("change", (e) => { if (e.matches) fitForPrint(); else invalidate(); });
  $("filters").addEventListener("submit", (e) => {
    e.preventDefault();
    state.start = $("start").value;
    state.end = shiftDay($("end").value, 1);
    $("cats").open = false;
    load();
  });
  $("token-form").addEventListener("submit", (e) => {
    e.preventDefault();
    setToken($("token").value.trim());
    loadHome();
  });
  $("lang").addEventListener("click", () => {
    toggleLang();
    renderCategories();
    renderTabs();
    load();
  });
  window.citygridDashboard = Object.assign(window.citygridDashboard || {}, { load, state });
  if (getToken()) await loadHome();
  else status(t("needToken"), true);
}

init();
