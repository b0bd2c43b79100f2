// The live command map: grids coloured by incident count, the scope's child units on top to click into.
import { getJSON } from "./api.js";
import { pick, t } from "./i18n.js";

const COLOURS = ["#f7f7f7", "#fee391", "#fec44f", "#fe9929", "#ec7014", "#cc4c02", "#8c2d04"];
let map = null;
let gridLayer = null;
let childLayer = null;
let legend = null;
let layerControl = null;
let incidentLayer = null;
let labelLayer = null;
let suggestionLayer = null;
let lastBounds = null;
const LABELLED = new Set(["county", "town"]); // names of these children are drawn on the map where they fit

export function createMap(meta) {
  map = L.map("map", { zoomControl: true, minZoom: 5, maxZoom: 19, zoomSnap: 0.25 });
  L.control.scale({ imperial: false, position: "bottomright" }).addTo(map);
  if (meta.tile_url) {
    L.tileLayer(meta.tile_url, { attribution: meta.tile_attribution || "底图 Base map", maxZoom: 19 }).addTo(map);
  }
  map.setView([34.36, 107.24], 9);
  map.on("zoomend moveend", fitLabels);
  legend = L.control({ position: "bottomleft" });
  legend.onAdd = () => L.DomUtil.create("div", "legend");
  legend.addTo(map);
  layerControl = L.control.layers(null, null, { collapsed: false, position: "topright" }).addTo(map);
  return map;
}

// Class upper bounds: 0 alone, then up to 6 quantile classes of the positive counts (distinct bounds only).
function classBounds(counts) {
  const positive = counts.filter((c) => c > 0).sort((a, b) => a - b);
  const bounds = [0];
  for (let k = 1; k <= 6 && positive.length; k++) {
    const value = positive[Math.min(positive.length - 1, Math.ceil((k / 6) * positive.length) - 1)];
    if (value > bounds[bounds.length - 1]) bounds.push(value);
  }
  return bounds;
}

function colourFor(count, bounds) {
  for (let i = 0; i < bounds.length; i++) if (count <= bounds[i]) return COLOURS[i];
  return COLOURS[COLOURS.length - 1];
}

function escapeHTML(text) {
  return String(text ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
}

function phone(value) {
  return value ? ` ${escapeHTML(value)}` : "";
}

function gridPopup(p, who = null) {
  const people = who
    ? `${t("community")} ${escapeHTML(who.community.name)}<br>${t("worker")} ${escapeHTML(who.grid_worker.name || "–")}${phone(who.grid_worker.phone)}<br>` +
      who.police.map((o) => `${t("police")} ${escapeHTML(o.name)}${phone(o.phone)}`).join("<br>")
    : `${t("community")} …<br>${t("worker")} …`;
  return `<div class="grid-popup"><b>${escapeHTML(p.name)}</b><br>${t("grid")} ${escapeHTML(p.code)}<br>${people}<br>` +
    `${t("incidents")} <b>${p.count}</b></div>`;
}

// The popup opens at once with what the tile knows; who to call comes from the API (phones masked by role).
function openGridPopup(latlng, p) {
  const popup = L.popup().setLatLng(latlng).setContent(gridPopup(p)).openOn(map);
  getJSON(`/api/v1/dashboard/contacts/${p.code}`)
    .then((who) => { if (map.hasLayer(popup)) popup.setContent(gridPopup(p, who)); })
    .catch((err) => { if (map.hasLayer(popup)) popup.setContent(gridPopup(p) + `<div class="up">${escapeHTML(err.message)}</div>`); });
}

function drawLegend(bounds) {
  const rows = bounds.map((b, i) => {
    const low = i === 0 ? 0 : bounds[i - 1] + 1;
    const label = i === 0 ? "0" : low === b ? `${b}` : `${low} – ${b}`;
    return `<div><i style="background:${COLOURS[i]}"></i>${label}</div>`;
  });
  legend.getContainer().innerHTML = `<b>${t("incidentsPerGrid")}</b>${rows.join("")}<div>${t("clickHint")}</div>`;
}

function tagPaths(layer, attribute) {
  // data-code on each SVG path: handy for tests and for styling; set once the path exists.
  layer.eachLayer((shape) => {
    const el = shape.getElement && shape.getElement();
    if (el) el.setAttribute(attribute, shape.feature.properties.code);
  });
}

function gridStyle(count, bounds) {
  if (count === undefined) return { fill: true, fillColor: "#dfe6ee", fillOpacity: 0.3, color: "#b8c2cc", weight: 0.4 };
  return { fill: true, fillColor: colourFor(count, bounds), fillOpacity: 0.8, color: "#6b7785", weight: 0.5 };
}

// The grids from /tiles/grids (MVT), coloured by this scope's counts; grids outside the scope stay faint.
function tiledGrids(data, bounds, hasChildren, tiles, token) {
  const layer = L.vectorGrid.protobuf(tiles.grids, {
    rendererFactory: L.svg.tile,
    vectorTileLayerStyles: { grids: (p) => gridStyle(data.grid_counts[p.code], bounds) },
    interactive: !hasChildren,
    getFeatureId: (f) => f.properties.code,
    fetchOptions: { headers: { Authorization: "Bearer " + token } },
    maxZoom: 19,
  });
  if (!hasChildren) {
    layer.on("click", (e) => {
      const p = e.layer.properties;
      openGridPopup(e.latlng, { ...p, count: data.grid_counts[p.code] ?? "–" });
    });
  }
  return layer;
}

// Incidents from /tiles/incidents for the period: points when zoomed in, counted bins below zoom 13.
function tiledIncidents(data, tiles, token) {
  const last = new Date(new Date(data.window.end).getTime() - 86400000).toISOString().slice(0, 10);
  const period = encodeURIComponent(`${data.window.start}T00:00:00+08:00/${last}T23:59:59+08:00`);
  return L.vectorGrid.protobuf(`${tiles.incidents}?datetime=${period}`, {
    rendererFactory: L.canvas.tile,
    vectorTileLayerStyles: {
      incidents: (p) => ({
        radius: p.count ? Math.min(9, 2 + Math.sqrt(p.count) / 2) : 2.5,
        fill: true, fillColor: "#d7301f", fillOpacity: 0.6, color: "#7f0000", weight: 0.5,
      }),
    },
    fetchOptions: { headers: { Authorization: "Bearer " + token } },
    maxZoom: 19,
  });
}

// Labels for county and town children, each shown only when its unit is wide and tall enough on screen.
function drawLabels(children) {
  labelLayer = L.layerGroup().addTo(map);
  const level = children.features[0]?.properties.level;
  if (!LABELLED.has(level)) return;
  childLayer.eachLayer((shape) => {
    const name = shape.feature.properties.name;
    const icon = L.divIcon({ className: "area-label", html: `<span>${escapeHTML(name)}</span>`, iconSize: null });
    const marker = L.marker(shape.getCenter(), { icon, interactive: false, keyboard: false });
    marker.fits = () => {
      const b = shape.getBounds();
      const nw = map.latLngToContainerPoint(b.getNorthWest()), se = map.latLngToContainerPoint(b.getSouthEast());
      return se.x - nw.x > name.length * 13 + 12 && se.y - nw.y > 22;
    };
    labelLayer.addLayer(marker);
  });
  fitLabels();
}

function fitLabels() {
  if (!labelLayer) return;
  labelLayer.eachLayer((m) => { const el = m.getElement(); if (el) el.style.display = m.fits() ? "" : "none"; });
}

export function drawSuggestion(feature) {
  if (suggestionLayer) map.removeLayer(suggestionLayer);
  suggestionLayer = L.geoJSON(feature, { style: () => ({ color: "#1f6feb", weight: 4, dashArray: "6 4" }) }).addTo(map);
  for (const s of feature.properties.stops) {
    L.circleMarker([s.lat, s.lon], { radius: 6, color: "#1f6feb", fillColor: "#fff", fillOpacity: 1 })
      .bindTooltip(`${s.seq}. ${escapeHTML(s.name)}`).addTo(suggestionLayer);
  }
  window.citygridDashboard.suggestion = suggestionLayer;
}

export function drawScope(data, onChild, tiles = null, token = "") {
  map.closePopup(); // a popup belongs to the area it was opened in
  for (const layer of [labelLayer, suggestionLayer]) if (layer) map.removeLayer(layer);
  labelLayer = suggestionLayer = null;
  if (gridLayer) map.removeLayer(gridLayer);
  if (childLayer) map.removeLayer(childLayer);
  if (incidentLayer) {
    layerControl.removeLayer(incidentLayer);
    map.removeLayer(incidentLayer);
    incidentLayer = null;
  }
  const counts = Object.values(data.grid_counts);
  const bounds = classBounds(counts);
  const hasChildren = data.children.features.length > 0;
  if (tiles && L.vectorGrid) {
    gridLayer = tiledGrids(data, bounds, hasChildren, tiles, token).addTo(map);
    incidentLayer = tiledIncidents(data, tiles, token);
    layerControl.addOverlay(incidentLayer, pick("事件（矢量瓦片）", "Incidents (vector tiles)"));
  } else {
    gridLayer = L.geoJSON(data.grids, {
      style: (f) => gridStyle(f.properties.count, bounds),
      interactive: !hasChildren,
      onEachFeature: (f, layer) => { if (!hasChildren) layer.on("click", (e) => openGridPopup(e.latlng, f.properties)); },
    }).addTo(map);
    tagPaths(gridLayer, "data-grid");
  }
  childLayer = L.geoJSON(data.children, {
    style: () => ({ color: "#0b2545", weight: 2.2, fillColor: "#000", fillOpacity: 0.01 }),
    onEachFeature: (f, layer) => {
      const p = f.properties;
      layer.bindTooltip(`${escapeHTML(p.name)}<br>${t("incidents")} ${p.count}`, { sticky: true });
      layer.on("mouseover", () => layer.setStyle({ weight: 4, color: "#f5a623" }));
      layer.on("mouseout", () => layer.setStyle({ weight: 2.2, color: "#0b2545" }));
      layer.on("click", () => onChild(p.code));
    },
  }).addTo(map);
  tagPaths(childLayer, "data-code");
  drawLegend(bounds);
  if (data.bounds) {
    const [w, s, e, n] = data.bounds;
    lastBounds = [[s, w], [n, e]];
    map.fitBounds(lastBounds, { padding: [16, 16] });
  }
  drawLabels(data.children);
  window.citygridDashboard = Object.assign(window.citygridDashboard || {}, { map, gridLayer, childLayer, labelLayer, tiled: Boolean(tiles && L.vectorGrid) });
}

export function invalidate() {
  if (map) map.invalidateSize();
}

// Before printing: the map takes the page's size, so redraw it and fit the whole area (nothing cropped).
export function fitForPrint() {
  if (!map) return;
  map.invalidateSize({ animate: false });
  if (lastBounds) map.fitBounds(lastBounds, { padding: [8, 8], animate: false });
}

export function childLabel(level) {
  const labels = { county: ["县/区", "County"], town: ["镇/街道", "Town"], community: ["村/社区", "Community"], grid: ["网格", "Grid"] };
  const pair = labels[level] || ["", ""];
  return pick(pair[0], pair[1]);
}
