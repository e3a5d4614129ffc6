# mecm.fieldkit developer entry points. Only Python 3.11, pip, git and make are needed:
# every target creates (once) and reuses the project virtualenv with the pinned requirements.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
REQ_HASH := $(shell sha256sum requirements-dev.txt | cut -c1-16)
STAMP := $(VENV)/.installed-$(REQ_HASH)
export PATH := $(BIN):$(PATH)
export ANSIBLE_COLLECTIONS_PATH := $(CURDIR)/.ansible/collections:$(CURDIR)/tests/simhost/collections

.PHONY: venv demo test pscheck unit e2e integration molecule lint sanity build bench clean

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
test: venv pscheck unit e2e integration molecule lint sanity build
	@echo "make test: all gates passed"

## make pscheck: Windows PowerShell 5.1 command/parameter compatibility (exit 77 = profiles absent: skipped loudly) and pitfall rules
pscheck: venv
	$(BIN)/python -m tests.pscheck.compat || [ $$? -eq 77 ]
	$(BIN)/python -m tests.pscheck.pitfalls

unit: venv
	$(BIN)/python -m pytest tests/unit -q

e2e: venv
	$(BIN)/python -m pytest tests/e2e -q

integration: venv
	$(BIN)/python tests/integration/run_against_lab.py

molecule: venv
	cd extensions && $(BIN)/molecule test --all

lint: venv
	$(BIN)/ansible-lint --profile production

sanity: venv
	$(BIN)/python tests/sanity/run_sanity.py

build: venv
	$(BIN)/python tests/build/check_build.py

bench: venv
	$(BIN)/python tests/benchmarks/module_cost.py

clean:
	rm -rf build .ansible .pytest_cache .lab reports mecm-fieldkit-*.tar.gz
