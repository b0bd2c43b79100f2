// One case: its state, time left, timeline, and one button per step the API allows the caller now.
import { getJSON } from "../dashboard/api.js";
import { escapeHTML, send, timeLeft } from "./http.js";

let stepTable = null; // name -> {label, needs}
const $ = (id) => document.getElementById(id);

async function steps() {
  if (!stepTable) {
    const rows = await getJSON("/api/v1/cases/steps");
    stepTable = Object.fromEntries(rows.map((s) => [s.name || s.step, s]));
  }
  return stepTable;
}

function unitText(u) {
  if (!u) return "";
  return u.department ? `${escapeHTML(u.department)}@${escapeHTML(u.code)}` : `${escapeHTML(u.kind)} ${escapeHTML(u.code)}`;
}

// Dispatch targets: the case's grid first (its grid worker), then the centres between it and the holder.
function targets(c) {
  const out = [];
  const p = c.place || {};
  if (p.grid_code) out.push({ kind: "grid", code: p.grid_code, label: `网格 Grid ${p.grid_code}` });
  for (const [code, zh, en] of [[p.community_code, "社区中心", "Community centre"], [p.town_code, "镇街中心", "Town centre"]]) {
    if (code && code !== c.unit.code && code.startsWith(c.unit.code)) out.push({ kind: "centre", code, label: `${zh} ${en} ${code}` });
  }
  return out;
}

function formFor(name, spec, c) {
  const needs = new Set(spec.needs || []);
  const parts = [];
  if (name === "dispatch") {
    const options = targets(c).map((t, i) => `<option value="${i}">${escapeHTML(t.label)}</option>`).join("");
    parts.push(`<label>派遣给 To <select name="to">${options}</select></label>`);
    parts.push(`<label>时限(工作日) Working days <input name="days" type="number" min="0" max="60"></label>`);
  }
  if (needs.has("days") && name !== "dispatch") parts.push(`<label>天数 Days <input name="days" type="number" min="1" max="60" required></label>`);
  if (needs.has("review_on")) parts.push(`<label>复查日期 Review on <input name="review_on" type="date" required></label>`);
  parts.push(`<label>说明 Note <input name="note" maxlength="4000" ${needs.has("note") ? "required" : ""}></label>`);
  return `<form class="step-form" data-step="${name}">${parts.join("")}<button type="submit">确定 ${escapeHTML(spec.label)}</button></form>`;
}

function bodyOf(form, name, c) {
  const data = new FormData(form);
  const body = { step: name };
  const note = (data.get("note") || "").trim();
  if (note) body.note = note;
  if (data.get("days")) body.days = Number(data.get("days"));
  if (data.get("review_on")) body.review_on = data.get("review_on");
  if (name === "dispatch") {
    const t = targets(c)[Number(data.get("to") || 0)];
    body.to = { kind: t.kind, code: t.code };
  }
  return body;
}

// Render case c (with its ETag) into #wb-detail; onDone(c) after a step succeeds.
export async function showCase(id, onDone, onError) {
  const pane = $("wb-detail");
  const [{ data: c, etag }, table] = await Promise.all([send("GET", `/api/v1/cases/${id}`), steps()]);
  const buttons = c.allowed_steps
    .map((s) => `<button type="button" data-step="${s}">${escapeHTML((table[s] || {}).label || s)}</button>`)
    .join("");
  const events = c.timeline
    .map((e) => `<li><b>${escapeHTML(e.label)}</b> ${escapeHTML(e.at.slice(0, 16).replace("T", " "))} · ${escapeHTML(e.actor)}` +
      (e.to_unit ? ` → ${unitText(e.to_unit)}` : "") + (e.note ? `<br>${escapeHTML(e.note)}` : "") + "</li>")
    .join("");
  pane.innerHTML = `<h2>案件 Case #${c.id}</h2>
    <p data-case="${c.id}" data-state="${c.state}" data-version="${c.version}"><b>${escapeHTML(c.state_label)}</b>
      · ${escapeHTML(c.category)} · ${escapeHTML(c.channel)}</p>
    <p>承办 Held by ${unitText(c.unit)} · <span class="left ${c.colour || ""}">${escapeHTML(timeLeft(c.deadline_at))}</span></p>
    <div class="steps">${buttons || "<i>无可办步骤 No step for you now</i>"}</div>
    <div class="step-slot"></div>
    <h3>办理过程 Timeline</h3><ol class="timeline">${events}</ol>`;
  pane.hidden = false;
  pane.dataset.case = c.id;
  const act = async (body) => {
    try {
      await send("POST", `/api/v1/cases/${c.id}/steps`, body, { "If-Match": etag });
      await onDone(c);
    } catch (err) {
      onError(err);
      if (err.status === 409 || err.status === 412) await showCase(id, onDone, onError); // re-read, new buttons
    }
  };
  for (const b of pane.querySelectorAll(".steps button")) {
    b.addEventListener("click", () => {
      const name = b.dataset.step;
      const spec = table[name] || { needs: [] };
      if (name !== "dispatch" && !(spec.needs || []).length) return act({ step: name });
      const slot = pane.querySelector(".step-slot");
      slot.innerHTML = formFor(name, spec, c);
      slot.querySelector("form").addEventListener("submit", (e) => {
        e.preventDefault();
        act(bodyOf(e.target, name, c));
      });
    });
  }
  return c;
}
