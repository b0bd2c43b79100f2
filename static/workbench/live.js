// The live feed: a 60 s ticket (never the token) opens an EventSource; each case notice calls onCase(notice).
// EventSource retries by itself with the same URL, and an expired ticket would keep failing, so after an error
// the feed is closed and reopened with a new ticket.
import { send } from "./http.js";

let source = null;
let retry = null;

function setLive(state) {
  document.body.dataset.live = state;
}

export async function connect(onCase, onResync) {
  disconnect();
  try {
    const { data } = await send("POST", "/api/v1/live/ticket");
    source = new EventSource(data.url + encodeURIComponent(data.ticket));
  } catch (_) {
    retry = setTimeout(() => connect(onCase, onResync), 5000);
    return;
  }
  source.addEventListener("hello", () => setLive("open"));
  source.addEventListener("case", (e) => onCase(JSON.parse(e.data)));
  source.addEventListener("resync", () => onResync());
  source.onerror = () => {
    setLive("closed");
    disconnect();
    retry = setTimeout(() => connect(onCase, onResync).then(onResync), 2000);
  };
}

export function disconnect() {
  if (retry) clearTimeout(retry);
  retry = null;
  if (source) source.close();
  source = null;
  setLive("closed");
}
