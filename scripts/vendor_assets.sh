#!/usr/bin/env bash
# Re-fetch the pinned browser assets that folium maps and the dashboard load, into static/vendor/.
#
# The copies are committed (with each package's licence), so this is NOT run at install time: run it
# by hand when a version changes, update the pins below and static/vendor/README.md, review the diff.
# Every tarball comes from the npm registry via `npm pack` and is checked against the pinned sha512,
# except folium's patched leaflet.heat build, which comes from the folium wheel on PyPI.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DEST="$ROOT/static/vendor"
PYTHON="${PYTHON:-python3}"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

# name@version and the sha512 integrity the npm registry publishes for its tarball.
declare -A PINS=(
  [leaflet@1.9.4]="sha512-nxS1ynzJOmOlHp+iL3FyWqK89GtNL8U8rvlMOsQdTTssxZwCXh8N2NB3GDQOL+YR3XnWyZAxwQixURb+FA74PA=="
  [jquery@3.7.1]="sha512-m4avr8yL8kmFN8psrbFFFmB/If14iN5o9nw/NgnnM+kybDJpRsAynV2BsfpTYrTRysYUdADVD7CkUUizgkpLfg=="
  [bootstrap@5.2.2]="sha512-dEtzMTV71n6Fhmbg4fYJzQsw1N29hJKO1js5ackCgIpDcGid2ETMGC6zwSYw09v05Y+oRdQ9loC54zB1La3hHQ=="
  [bootstrap@3.4.1]="sha512-yN5oZVmRCwe5aKwzRj6736nSmKDX7pLYwsXiCj/EYmo16hODaBiT4En5btW/jhBF/seV+XMx3aYwukYC3A49DA=="
  [@fortawesome/fontawesome-free@6.2.0]="sha512-CNR7qRIfCwWHNN7FnKUniva94edPdyQzil/zCwk3v6k4R6rR2Fr8i4s3PM7n/lyfPA6Zfko9z5WDzFxG9SW1uQ=="
  [drmonty-leaflet-awesome-markers@2.0.2]="sha512-g508pdnnHQr9l4kU6McvJzcSd0w1FvHFlZZCYc4oT+zjwYJi1qtj0fFBFEWMKoNfHK4UcBya1eccyjKfu4chjQ=="
  [leaflet.heat@0.2.0]="sha512-Cd5PbAA/rX3X3XKxfDoUGi9qp78FyhWYurFg3nsfhntcM/MCNK08pRkf4iEenO1KNqwVPKCmkyktjW3UD+h9bQ=="
  [d3@3.5.5]="sha512-JPx0wEFxcYVcCZXgUbsy8NzVzD3zKat1KLtdCeOHPsmrpFlc09nr2/5Ls9ey7mo8SV6cWew0piLrmPVybj9I8w=="
  [leaflet.markercluster@1.1.0]="sha512-eI+XkCiLiHwCC3uZ4/n4+Vq3rXcqEHN2lhHRVG1WVziy/3Q0TTipWkzEa1zO0dKZI2AnI5ppFDWrOjnQ7MJLKQ=="
  [leaflet.fullscreen@3.0.0]="sha512-81wWSUXz1ZtdneR0v5eJDWXUSx+Zo5J50WXWeydG/UcILfIEAgz/iOjZSi3p00Z9MJ/FC/P5i3CgdYuEAos0yQ=="
  [leaflet.vectorgrid@1.3.0]="sha512-kWmj1pKM+MVdo/7Mg5zsB3YrGZvo/uIuiANV9MvWUFOG+Y2xAJzrteDhoIcCgTjHSSRJ36xdeGdIQVhuWjnCZw=="
)
FOLIUM_VERSION=0.20.0
LEAFLET_HEAT_SHA256=7378c428ff2318ec48e7e73c0d46061f938aa75551c519c74cd790b044dfa0fa

# unpack SPEC -> prints the directory holding the package's files
unpack() {
  local spec="$1" tgz got dir
  tgz="$(cd "$WORK" && npm pack --silent "$spec" | tail -n1)"
  got="sha512-$(openssl dgst -sha512 -binary "$WORK/$tgz" | base64 -w0)"
  if [[ "$got" != "${PINS[$spec]}" ]]; then
    echo "integrity mismatch for $spec: $got" >&2
    exit 1
  fi
  dir="$WORK/unpacked/${tgz%.tgz}"
  mkdir -p "$dir"
  tar -xzf "$WORK/$tgz" -C "$dir"
  echo "$dir/package"
}

# put SRC_DIR DEST_SUBDIR FILE... : copy files (paths relative to SRC_DIR) keeping their sub-paths
put() {
  local src="$1" sub="$2" f
  shift 2
  for f in "$@"; do
    mkdir -p "$(dirname "$DEST/$sub/$f")"
    cp "$src/$f" "$DEST/$sub/$f"
  done
}

# Replace only the folders this script owns; README.md stays.
for sub in leaflet jquery bootstrap fontawesome-free leaflet-awesome-markers bootstrap3-glyphicons \
  leaflet-heat d3 leaflet.markercluster leaflet.fullscreen leaflet.vectorgrid citygrid; do
  rm -rf "${DEST:?}/$sub"
done
mkdir -p "$DEST"

p="$(unpack leaflet@1.9.4)"
put "$p/dist" leaflet leaflet.js leaflet.css images/layers.png images/layers-2x.png \
  images/marker-icon.png images/marker-icon-2x.png images/marker-shadow.png
put "$p" leaflet LICENSE

p="$(unpack jquery@3.7.1)"
put "$p/dist" jquery jquery.min.js
put "$p" jquery LICENSE.txt

p="$(unpack bootstrap@5.2.2)"
put "$p/dist" bootstrap css/bootstrap.min.css js/bootstrap.bundle.min.js
put "$p" bootstrap LICENSE

p="$(unpack @fortawesome/fontawesome-free@6.2.0)"
put "$p" fontawesome-free css/all.min.css LICENSE.txt
for font in fa-brands-400 fa-regular-400 fa-solid-900 fa-v4compatibility; do
  put "$p" fontawesome-free "webfonts/$font.woff2" "webfonts/$font.ttf"
done

p="$(unpack drmonty-leaflet-awesome-markers@2.0.2)"
put "$p/css" leaflet-awesome-markers leaflet.awesome-markers.css images/markers-soft.png \
  images/markers-soft@2x.png images/markers-shadow.png images/markers-shadow@2x.png
# Not the .min.js: that one is stale and ignores extraClasses, which folium uses for Icon(angle=...).
put "$p/js" leaflet-awesome-markers leaflet.awesome-markers.js
# The package ships no licence file; its package.json and file headers declare MIT.
cat >"$DEST/leaflet-awesome-markers/LICENSE" <<'EOF'
Leaflet.awesome-markers 2.0.2 (npm: drmonty-leaflet-awesome-markers)

The npm package ships no licence file. Its package.json declares "licenses": [{"type": "MIT"}],
leaflet.awesome-markers.css says "Author: L. Voogdt / License: MIT", and leaflet.awesome-markers.js
says "(c) 2012-2013, Lennard Voogdt". The MIT licence text follows.

Copyright (c) 2012-2013 Lennard Voogdt

Permission is hereby granted, free of charge, to any person obtaining a copy of this software and
associated documentation files (the "Software"), to deal in the Software without restriction,
including without limitation the rights to use, copy, modify, merge, publish, distribute, sublicense,
and/or sell copies of the Software, and to permit persons to whom the Software is furnished to do so,
subject to the following conditions:

The above copyright notice and this permission notice shall be included in all copies or substantial
portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR IMPLIED, INCLUDING BUT NOT
LIMITED TO THE WARRANTIES OF MERCHANTABILITY, FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN
NO EVENT SHALL THE AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER LIABILITY,
WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM, OUT OF OR IN CONNECTION WITH THE
SOFTWARE OR THE USE OR OTHER DEALINGS IN THE SOFTWARE.
EOF

# folium's Icon defaults to prefix="glyphicon" and links Bootstrap 3's glyphicons stylesheet; take just
# the glyphicon rules out of Bootstrap 3's css, with the woff2/ttf fonts only.
p="$(unpack bootstrap@3.4.1)"
put "$p/dist" bootstrap3-glyphicons fonts/glyphicons-halflings-regular.woff2 \
  fonts/glyphicons-halflings-regular.ttf
put "$p" bootstrap3-glyphicons LICENSE
"$PYTHON" - "$p/dist/css/bootstrap.css" "$DEST/bootstrap3-glyphicons/glyphicons.css" <<'EOF'
import re
import sys

css = open(sys.argv[1], encoding="utf-8").read()
start = css.index('@font-face {\n  font-family: "Glyphicons Halflings";')
end = css.index("\n* {", start)  # the scaffolding section follows the glyphicons one
rules = css[start:end].strip() + "\n"
rules, n = re.subn(
    r"  src: url\(\"\.\./fonts/glyphicons-halflings-regular\.eot\"\);\n  src: [^\n]*;\n",
    '  src: url("fonts/glyphicons-halflings-regular.woff2") format("woff2"),'
    ' url("fonts/glyphicons-halflings-regular.ttf") format("truetype");\n',
    rules,
)
assert n == 1, "glyphicons @font-face not found"
header = (
    "/* Glyphicons rules from bootstrap@3.4.1 dist/css/bootstrap.css (MIT, see LICENSE),\n"
    "   fonts reduced to woff2 + ttf; extracted by scripts/vendor_assets.sh */\n"
)
open(sys.argv[2], "w", encoding="utf-8").write(header + rules)
EOF

# leaflet.heat: folium's build carries a fix for point weights (Leaflet.heat PR #78) that its HeatMap
# relies on, so take it from the folium wheel; the licence is leaflet.heat's (plus folium's for the patch).
p="$(unpack leaflet.heat@0.2.0)"
put "$p" leaflet-heat LICENSE
"$PYTHON" -m pip download --quiet --no-deps --only-binary=:all: "folium==$FOLIUM_VERSION" -d "$WORK/wheel"
"$PYTHON" - "$WORK"/wheel/folium-*.whl "$DEST/leaflet-heat" "$LEAFLET_HEAT_SHA256" <<'EOF'
import hashlib
import sys
import zipfile

wheel, dest, want = sys.argv[1:4]
with zipfile.ZipFile(wheel) as zf:
    js = zf.read("folium/templates/leaflet_heat.min.js")
    licence = next(n for n in zf.namelist() if n.endswith(".dist-info/licenses/LICENSE.txt"))
    folium_licence = zf.read(licence)
got = hashlib.sha256(js).hexdigest()
assert got == want, f"leaflet_heat.min.js sha256 {got} != pinned {want}"
open(f"{dest}/leaflet-heat.min.js", "wb").write(js)
open(f"{dest}/LICENSE.folium.txt", "wb").write(folium_licence)
EOF

p="$(unpack d3@3.5.5)"
put "$p" d3 d3.min.js LICENSE

p="$(unpack leaflet.markercluster@1.1.0)"
put "$p/dist" leaflet.markercluster leaflet.markercluster.js MarkerCluster.css MarkerCluster.Default.css
put "$p" leaflet.markercluster MIT-LICENCE.txt

p="$(unpack leaflet.fullscreen@3.0.0)"
put "$p" leaflet.fullscreen Control.FullScreen.js Control.FullScreen.css icon-fullscreen.svg LICENSE

# The dashboard draws the MVT grid and incident layers (/tiles/…) with VectorGrid; the bundled build carries
# pbf and vector-tile. The package ships no licence file: LICENSE quotes its README's notice.
p="$(unpack leaflet.vectorgrid@1.3.0)"
put "$p/dist" leaflet.vectorgrid Leaflet.VectorGrid.bundled.min.js
cat >"$DEST/leaflet.vectorgrid/LICENSE" <<'EOF'
Leaflet.VectorGrid 1.3.0 (npm: leaflet.vectorgrid), file dist/Leaflet.VectorGrid.bundled.min.js

The npm package ships no licence file; its package.json declares "license": "Beerware" and its README
("Legalese") reads:

----------------------------------------------------------------------------
"THE BEER-WARE LICENSE":
<ivan@sanchezortega.es> wrote this file. As long as you retain this notice you
can do whatever you want with this stuff. If we meet some day, and you think
this stuff is worth it, you can buy me a beer in return.
----------------------------------------------------------------------------

The bundled build also contains, per the package's README and package.json: pbf (BSD-3-Clause, Mapbox),
vector-tile / @mapbox/point-geometry (BSD-3-Clause / ISC, Mapbox), topojson-client (BSD-3-Clause,
Michael Bostock), geojson-vt (ISC, Mapbox) and whatwg-fetch (MIT, GitHub). Their licences permit
redistribution in this form with these notices.
EOF

# folium links a generated stylesheet with one .fa-rotate-N class per degree for Icon(angle=N); ours is
# generated here (project code, not third-party).
mkdir -p "$DEST/citygrid"
{
  echo "/* .fa-rotate-N for folium Icon(angle=N); generated by scripts/vendor_assets.sh */"
  for deg in $(seq 0 359); do
    echo ".fa-rotate-$deg{transform:rotate(${deg}deg)}"
  done
} >"$DEST/citygrid/awesome-rotate.css"

du -sh "$DEST"
