# Entry points the README quotes. Every target installs what it needs, so each works on a fresh
# Debian/Ubuntu machine as root.
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
VENV := .venv
BIN := $(VENV)/bin
INVENTORY ?= inventories/local
SCENARIOS ?= default fleet
export ANSIBLE_INJECT_FACT_VARS := false
# Molecule and the tests call ansible-playbook, ansible-config and molecule by name.
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)

.PHONY: help deps lab images up down lint unit test test-service molecule bench bench-ops

help:
	@echo "make up          deploy the platform on this machine (Ansible, inventories/local)"
	@echo "make test        lint, service tests, every Molecule scenario"
	@echo "make lint        ruff, mypy, yamllint, ansible-lint"
	@echo "make test-service  pytest only"
	@echo "make molecule    Molecule scenarios: $(SCENARIOS)"
	@echo "make bench       service benchmarks (prints figures)"

deps:
	lab/host-deps.sh

lab: deps
	lab/setup.sh

up: lab
	$(BIN)/ansible-playbook -i $(INVENTORY) playbooks/site.yml
	@lab/print-health.sh

lint: deps
	$(BIN)/ruff check service tests bench molecule
	$(BIN)/ruff format --check service tests bench molecule
	$(BIN)/mypy
	$(BIN)/yamllint -s .
	$(BIN)/ansible-lint --profile production

test-service: deps
	lab/docker-engine.sh
	$(BIN)/pytest -q -ra

molecule: lab
	for s in $(SCENARIOS); do \
	  start=$$(date +%s); \
	  $(BIN)/molecule test -s $$s; \
	  echo "molecule scenario $$s: $$(( $$(date +%s) - start )) s"; \
	done

test: lint test-service molecule

bench: deps
	$(BIN)/python -m bench.service_bench

bench-ops: lab
	$(BIN)/python -m bench.ops_bench
