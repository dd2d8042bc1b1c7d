# Kefu: `make run` sets up and serves the bot; `make test` sets up and runs every check.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: install run chat test lint typecheck browser benchmarks clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	# torch first and pinned: the CPU build on this machine, never a multi-GB CUDA build.
	$(BIN)/python -m pip install -q torch==2.13.0
	$(BIN)/python -m pip install -q -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

run: install
	$(BIN)/kefu db upgrade
	$(BIN)/kefu serve

chat: install
	$(BIN)/kefu chat

# Debian's chromium for the browser tests (Playwright drives it; it cannot download its own),
# with a CJK font so the Chinese staff pages are drawn (checked by the browser tests).
browser:
	@if [ ! -x /usr/bin/chromium ] || ! fc-list :lang=zh 2>/dev/null | grep -q .; then \
		if [ "$$(id -u)" = "0" ]; then \
			(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-wqy-microhei >/dev/null) \
				|| echo "chromium could not be installed: browser tests will be skipped"; \
		else echo "not root: install Debian's chromium and fonts-wqy-microhei for the browser tests"; fi; \
	fi

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install
	$(BIN)/mypy

test: install browser lint typecheck
	$(BIN)/pytest -q

benchmarks: install
	$(BIN)/python benchmarks/run_all.py

clean:
	rm -rf $(VENV) data .mypy_cache .ruff_cache .pytest_cache
