// 工作台 Workbench: the caller's queue (overdue first, time left), a case's detail and step buttons, the map of
// open cases coloured by time left, reporting a case, and the wall screen (#wall) kept live by the SSE feed.
import { ApiError, getJSON, getToken, meta as fetchMeta, setToken } from "../dashboard/api.js";
import { showCase } from "./detail.js";
import { send } from "./http.js";
import { connect } from "./live.js";
import { drawCounts, queueRow, tick } from "./wall.js";
import { createMap, drawArea, drawCases, focus, invalidate, mapState, pickPlace } from "./wbmap.js";

const $ = (id) => document.getElementById(id);
const state = { me: null, meta: null, items: [], selected: null, place: null, key: null, labels: {} };

function status(text, isError = false) {
  $("wb-status").textContent = text;
  $("wb-status").className = isError ? "error" : "";
}

function explain(err) {
  if (err instanceof ApiError && err.status === 401) return "令牌无效，请重新登录 The token is not valid: sign in again";
  return `失败 Failed: ${err.message}`;
}

async function loadQueue() {
  const page = await getJSON("/api/v1/cases", { limit: 200 });
  state.items = page.items;
  $("wb-queue").innerHTML = page.items.map((c) => queueRow(c, c.id === state.selected)).join("");
  $("wb-count").textContent = `${page.items.length}${page.has_more ? "+" : ""} 件在办 open`;
  for (const li of $("wb-queue").querySelectorAll("li")) li.addEventListener("click", () => select(Number(li.dataset.case)));
  drawCases(page.items, select);
  drawCounts(page.items);
  document.body.dataset.queueLoaded = String(Date.now());
}

async function select(id) {
  state.selected = id;
  for (const li of $("wb-queue").querySelectorAll("li")) li.setAttribute("aria-selected", String(Number(li.dataset.case) === id));
  try {
    const c = await showCase(id, afterStep, (err) => status(explain(err), true));
    focus(c.location);
    status("");
  } catch (err) {
    status(explain(err), true);
  }
}

async function afterStep(c) {
  status(`已办理 Done: #${c.id}`);
  await loadQueue();
  await select(c.id);
}

let pending = null;
function onNotice(notice) {
  tick(notice, (state.labels[notice.step] || "").split(" ")[0] || notice.step);
  clearTimeout(pending); // several steps at once: one refetch
  pending = setTimeout(async () => {
    await loadQueue().catch((err) => status(explain(err), true));
    const shown = $("wb-detail").dataset.case;
    if (state.view !== "wall" && shown && Number(shown) === notice.case_id) await select(notice.case_id);
  }, 150);
}

function openReport() {
  const form = $("wb-report");
  form.hidden = false;
  state.key = crypto.randomUUID ? crypto.randomUUID() : String(Math.random()).slice(2);
  $("wb-report-category").innerHTML = state.meta.categories.map((c) => `<option value="${c.key}">${c.zh} ${c.en}</option>`).join("");
  pickPlace((latlng) => {
    state.place = latlng;
    $("wb-report-where").textContent = `位置 Place ${latlng.lat.toFixed(5)}, ${latlng.lng.toFixed(5)}`;
    $("wb-report-send").disabled = false;
  });
}

function closeReport() {
  $("wb-report").hidden = true;
  $("wb-report-send").disabled = true;
  state.place = null;
  pickPlace(null);
}

async function submitReport(e) {
  e.preventDefault();
  const feature = {
    type: "Feature",
    geometry: { type: "Point", coordinates: [state.place.lng, state.place.lat] },
    properties: { category: $("wb-report-category").value, occurred_at: new Date().toISOString(), description: $("wb-report-text").value },
  };
  try {
    const { data } = await send("POST", "/api/v1/cases", feature, { "Idempotency-Key": state.key });
    closeReport();
    await loadQueue();
    await select(data.id);
    status(`已上报 Reported: #${data.id}`);
  } catch (err) {
    status(explain(err), true);
  }
}

function showView() {
  state.view = location.hash === "#wall" ? "wall" : "queue";
  document.body.dataset.view = state.view;
  $("wb-wall").hidden = state.view !== "wall";
  for (const a of document.querySelectorAll("#wb-views a[data-view]")) {
    if (a.dataset.view === state.view) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
  invalidate();
}

async function signIn() {
  try {
    state.me = await getJSON("/api/v1/me");
    $("wb-me").textContent = `${state.me.username} · ${state.me.area?.name || state.me.area?.code || ""}`;
    const canReport = state.me.roles.some((r) => ["grid_worker", "centre_operator", "police", "admin"].includes(r));
    $("wb-report-open").hidden = !canReport;
    const steps = await getJSON("/api/v1/cases/steps");
    state.labels = Object.fromEntries(steps.map((s) => [s.step, s.label]));
    await loadQueue();
    await drawMyArea(state.me.area?.code);
    await connect(onNotice, () => loadQueue().catch(() => {}));
    document.body.dataset.ready = "true";
    status("");
  } catch (err) {
    status(explain(err), true);
  }
}

async function drawMyArea(code) {
  if (!code || code.length === 6 && code.endsWith("00")) return; // the whole city: nothing to outline
  const collection = code.length === 15 ? "grids" : "admin_units";
  try {
    drawArea(await getJSON(`/ogc/collections/${collection}/items/${code}`, { f: "json" }));
  } catch (_) { /* the outline is a help, not a need */ }
}

async function init() {
  state.meta = await fetchMeta();
  if (!getToken() && state.meta.env === "development") setToken("dev-admin-token");
  $("wb-token").value = getToken();
  createMap(state.meta);
  showView();
  window.addEventListener("hashchange", showView);
  $("wb-token-form").addEventListener("submit", (e) => {
    e.preventDefault();
    setToken($("wb-token").value.trim());
    signIn();
  });
  $("wb-report-open").addEventListener("click", openReport);
  $("wb-report-cancel").addEventListener("click", closeReport);
  $("wb-report").addEventListener("submit", submitReport);
  setInterval(() => state.items.length && loadQueue().catch(() => {}), 60_000); // time left moves on
  window.citygridWorkbench = { state, loadQueue, select, map: () => mapState().map };
  if (getToken()) await signIn();
  else status("请输入令牌 Enter your token", true);
}

init();
