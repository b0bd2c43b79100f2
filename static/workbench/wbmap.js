// The workbench map: the user's area outline, open cases coloured by time left, a click picks a report's place.
const COLOURS = { green: "#2e9e4f", amber: "#e6a100", red: "#d0312d" };
let map = null;
let areaLayer = null;
let caseLayer = null;
let pickMarker = null;
let onPick = null;

export function createMap(meta) {
  map = L.map("wb-map", { minZoom: 5, maxZoom: 19, zoomSnap: 0.25 });
  if (meta.tile_url) L.tileLayer(meta.tile_url, { attribution: meta.tile_attribution || "底图 Base map" }).addTo(map);
  map.setView([34.36, 107.24], 9);
  caseLayer = L.layerGroup().addTo(map);
  map.on("click", (e) => {
    if (!onPick) return;
    if (pickMarker) pickMarker.remove();
    pickMarker = L.marker(e.latlng).addTo(map);
    onPick(e.latlng);
  });
  return map;
}

export function drawArea(feature) {
  if (areaLayer) areaLayer.remove();
  areaLayer = L.geoJSON(feature, { style: { color: "#123a5c", weight: 2, fillOpacity: 0.05 }, interactive: false }).addTo(map);
  map.fitBounds(areaLayer.getBounds(), { padding: [10, 10] });
}

export function drawCases(items, onSelect) {
  caseLayer.clearLayers();
  for (const c of items) {
    if (!c.location) continue;
    const [lon, lat] = c.location.coordinates;
    const colour = COLOURS[c.colour] || "#6b7785";
    const marker = L.circleMarker([lat, lon], { radius: 8, color: "#fff", weight: 1.5, fillColor: colour, fillOpacity: 0.9 });
    marker.on("click", () => onSelect(c.id));
    marker.bindTooltip(`#${c.id} ${c.state_label}`);
    marker.addTo(caseLayer);
    const el = marker.getElement && marker.getElement();
    if (el) { el.setAttribute("data-case", c.id); el.setAttribute("data-colour", c.colour || ""); }
  }
}

export function focus(location) {
  if (!location) return;
  const [lon, lat] = location.coordinates;
  map.setView([lat, lon], Math.max(map.getZoom(), 15));
}

// While a report form is open, a click on the map picks its place (cb(latlng)); null stops picking.
export function pickPlace(cb) {
  onPick = cb;
  if (!cb && pickMarker) { pickMarker.remove(); pickMarker = null; }
}

export function invalidate() {
  if (map) map.invalidateSize();
}

export const mapState = () => ({ map, areaLayer, caseLayer });
