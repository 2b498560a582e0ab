# Every target installs what is missing into .venv on first use.
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed-stamp
PYTHON  ?= python3

.PHONY: demo test bench serve platform lint clean

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	# The machine's pip 23 backtracks for minutes on this dependency set; pip 26 resolves it in seconds.
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -c constraints.txt -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/xiaoer demo

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/pytest

bench: $(STAMP)
	mkdir -p bench/results
	$(BIN)/xiaoer bench --scenarios scenarios --seeds 3 --md bench/results/policies.md --json bench/results/policies.json \
		--chart bench/results/policies.png
	$(BIN)/python bench/bench_guard.py
	$(BIN)/python bench/bench_sim.py --json bench/results/sim.json
	$(BIN)/python bench/bench_run.py --json bench/results/run.json
	$(BIN)/python bench/bench_fanout.py --json bench/results/fanout.json
	$(BIN)/python bench/bench_heldout.py --told-the-end --json bench/results/heldout.json --md bench/results/heldout.md \
		--chart bench/results/heldout.png

# Xiaoer's API, owner page and scheduler on :8800, the simulated platform in the same process.
serve: $(STAMP)
	$(BIN)/xiaoer serve --with-platform scenarios/price_sensitive.yaml

# Only the simulated platform, as its own server on :8700.
platform: $(STAMP)
	$(BIN)/xiaoer platform serve --scenario scenarios/price_sensitive.yaml --port 8700

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache .ruff_cache
