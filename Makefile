# mecm.fieldkit developer entry points. Only Python 3.11, pip, git and make are needed:
# every target creates (once) and reuses the project virtualenv with the pinned requirements.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
REQ_HASH := $(shell sha256sum requirements-dev.txt | cut -c1-16)
STAMP := $(VENV)/.installed-$(REQ_HASH)
export PATH := $(BIN):$(PATH)
export ANSIBLE_COLLECTIONS_PATH := $(CURDIR)/.ansible/collections:$(CURDIR)/tests/simhost/collections

.PHONY: venv demo test pscheck unit e2e browser browser-deps matrix integration molecule lint sanity build dist bench bench-scale clean

$(STAMP): requirements-dev.txt
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "need $(PYTHON) on PATH (set PYTHON=...)"; exit 1; }
	rm -rf $(VENV)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	$(BIN)/python -c "from tests.simhost.paths import ensure_collection_link; ensure_collection_link()"
	touch $@

venv: $(STAMP)

## make demo: start the simulated lab, run the main jobs against it, show the results, stop the lab
demo: venv
	$(BIN)/python -m tests.simhost.demo

## make test: everything CI runs
test: venv pscheck unit e2e browser integration molecule lint sanity build matrix
	@echo "make test: all gates passed"

## make pscheck: Windows PowerShell 5.1 command/parameter compatibility (exit 77 = profiles absent: skipped loudly) and pitfall rules
pscheck: venv
	$(BIN)/python -m tests.pscheck.compat || [ $$? -eq 77 ]
	$(BIN)/python -m tests.pscheck.pitfalls

unit: venv
	$(BIN)/python -m pytest tests/unit -q

e2e: venv
	$(BIN)/python -m pytest tests/e2e -q

## make browser: the HTML reports opened in headless Chromium (Debian's package, installed here when missing)
browser: venv browser-deps
	$(BIN)/python -m pytest tests/browser -q

CHROMIUM ?= /usr/bin/chromium
SUDO := $(shell [ "$$(id -u)" = 0 ] || command -v sudo)
browser-deps:
	@[ -x $(CHROMIUM) ] || { echo "installing Debian's chromium (apt) for the browser tests"; \
	  $(SUDO) apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -q chromium >/dev/null; }
	@[ -x $(CHROMIUM) ] || { echo "$(CHROMIUM) is still missing: install Debian's chromium package"; exit 1; }
	@fc-list :lang=ja 2>/dev/null | grep -q . || { echo "installing a Japanese font (apt fonts-ipafont-gothic) for the browser screenshots"; \
	  $(SUDO) apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -q --no-install-recommends fonts-ipafont-gothic >/dev/null; }

## make matrix: unit tests and an end-to-end subset on every ansible-core minor we claim (own virtualenvs in .matrix/)
matrix: venv
	$(BIN)/python tests/matrix/run_matrix.py

integration: venv
	$(BIN)/python tests/integration/run_against_lab.py

molecule: venv
	cd extensions && $(BIN)/molecule test --all

## make lint: ansible-lint, production profile, with only this collection on the path (fresh ANSIBLE_HOME, offline)
lint: venv
	$(BIN)/python tests/sanity/run_lint.py

sanity: venv
	$(BIN)/python tests/sanity/run_sanity.py

build: venv
	$(BIN)/python tests/build/check_build.py

## make dist: the collection tarball as shipped (staged copy, PowerShell stripped, docs-site guides generated)
dist: venv
	$(BIN)/python -m tests.build.dist

bench: venv
	$(BIN)/python tests/benchmarks/module_cost.py

## make bench-scale: N reference machines / M DPs, shipped playbooks against the minimal-module floor (not part of make test)
bench-scale: venv
	$(BIN)/python tests/benchmarks/bench_scale.py $(BENCH_ARGS)

clean:
	rm -rf build .ansible .pytest_cache .lab .matrix reports mecm-fieldkit-*.tar.gz
