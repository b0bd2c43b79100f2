// Requests to our own server only, with the token from the token box (kept in localStorage).
import { currentLang } from "./i18n.js";

const TOKEN_KEY = "citygrid.token";

export class ApiError extends Error {
  constructor(status, detail) {
    super(detail);
    this.status = status;
  }
}

export function getToken() {
  return localStorage.getItem(TOKEN_KEY) || "";
}

export function setToken(token) {
  if (token) localStorage.setItem(TOKEN_KEY, token);
  else localStorage.removeItem(TOKEN_KEY);
}

export function query(params) {
  const q = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value === null || value === undefined || value === "") continue;
    q.append(key, Array.isArray(value) ? value.join(",") : String(value));
  }
  const text = q.toString();
  return text ? "?" + text : "";
}

async function request(path, params, accept, init = {}) {
  const headers = { Accept: accept, ...(init.headers || {}) };
  const token = getToken();
  if (token) headers.Authorization = "Bearer " + token;
  const response = await fetch(path + query(params || {}), { ...init, headers });
  if (!response.ok) {
    let detail = response.statusText;
    try {
      const body = await response.json(); // {code, detail (English), detail_zh (Chinese)}
      detail = (currentLang() === "zh" && body.detail_zh ? `${body.detail_zh} · ${body.detail}` : body.detail) || detail;
    } catch (_) { /* not JSON */ }
    throw new ApiError(response.status, detail);
  }
  return response;
}

export async function getJSON(path, params) {
  return (await request(path, params, "application/json")).json();
}

export async function postJSON(path, body) {
  const init = { method: "POST", body: JSON.stringify(body), headers: { "Content-Type": "application/json" } };
  return (await request(path, {}, "application/json, application/geo+json", init)).json();
}

export async function getBlob(path, params) {
  return (await request(path, params, "application/pdf")).blob();
}

export async function getHTML(path, params) {
  return (await request(path, params, "text/html")).text();
}

export async function meta() {
  const response = await fetch("/api/v1/meta");
  return response.json();
}
