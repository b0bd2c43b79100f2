// Writes for the workbench (the dashboard's api.js reads); the token comes from the same localStorage key.
import { ApiError, getToken } from "../dashboard/api.js";

export async function send(method, path, body, extraHeaders = {}) {
  const headers = { Accept: "application/json", ...extraHeaders };
  const token = getToken();
  if (token) headers.Authorization = "Bearer " + token;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  let data = null;
  try {
    data = await response.json();
  } catch (_) { /* an empty body */ }
  if (!response.ok) {
    const err = new ApiError(response.status, (data && (data.detail_zh || data.detail)) || response.statusText);
    err.body = data;
    throw err;
  }
  return { data, etag: response.headers.get("ETag") };
}

export function escapeHTML(text) {
  return String(text ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
}

// "剩 1天3小时 / 1d 3h left" or "超时 5小时 / 5h overdue", from an ISO deadline.
export function timeLeft(deadline, now = Date.now()) {
  if (!deadline) return "";
  let ms = new Date(deadline).getTime() - now;
  const over = ms < 0;
  ms = Math.abs(ms);
  const d = Math.floor(ms / 86400000);
  const h = Math.floor((ms % 86400000) / 3600000);
  const m = Math.floor((ms % 3600000) / 60000);
  const zh = d ? `${d}天${h}小时` : h ? `${h}小时${m}分` : `${m}分`;
  const en = d ? `${d}d ${h}h` : h ? `${h}h ${m}m` : `${m}m`;
  return over ? `超时 ${zh} · ${en} overdue` : `剩 ${zh} · ${en} left`;
}
