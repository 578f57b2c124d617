# kubelab: `make run` brings it up, `make test` checks it. Both install what they need first.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Debian packages the project needs on the machine (the lab and tests add theirs here as they come).
DEB_PACKAGES := python3-venv iproute2 util-linux busybox-static curl nftables serf
# The service proxy (UDP conntrack cleanup) and its benchmark (load generators, HAProxy).
DEB_PACKAGES += conntrack haproxy wrk iperf3
PROTOS := $(wildcard proto/controlplane/api/v1/*.proto)

.PHONY: install run down test test-fast lint proto bench clean

install: $(STAMP)

$(STAMP): pyproject.toml deploy/install-debian-packages.sh
	@deploy/install-debian-packages.sh $(DEB_PACKAGES)
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install --quiet --upgrade pip
	@$(BIN)/python -m pip install --quiet --editable '.[dev]'
	@touch $@

run: install
	@deploy/run-local.sh

down: install
	@$(BIN)/kubelab down

test: install lint
	@$(BIN)/python -m pytest -q tests

test-fast: install
	@$(BIN)/python -m pytest -q -m "not slow" tests

lint: install
	@$(BIN)/ruff check .
	@$(BIN)/mypy controlplane agent proxy

# Regenerate the Python code of proto/ (tests/unit/test_proto_fresh.py fails when it is stale).
proto: install
	@$(BIN)/python -m controlplane.api.protogen

bench: install
	@$(BIN)/python bench/api_bench.py
	@$(BIN)/python bench/pod_bench.py
	@$(BIN)/python bench/sched_bench.py
	@$(BIN)/python bench/endpoints_bench.py
	@$(BIN)/python bench/gossip_bench.py
	@$(BIN)/python bench/proxy_bench.py

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
