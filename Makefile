# Entry points the README quotes. Every target installs what it needs, so each works on a fresh
# Debian/Ubuntu machine as root.
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
VENV := .venv
BIN := $(VENV)/bin
INVENTORY ?= inventories/local
SCENARIOS ?= default fleet
export ANSIBLE_INJECT_FACT_VARS := false
# The operations kit as the Ansible collection langchain_platform.ops (galaxy.yml).
COLLECTION_DIR := .cache/collection
COLLECTION_TARBALL = $(COLLECTION_DIR)/langchain_platform-ops-$(shell sed -n 's/^version: *//p' galaxy.yml).tar.gz
# Molecule and the tests call ansible-playbook, ansible-config and molecule by name.
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)

.PHONY: help deps lab images up down lint unit test test-service molecule bench bench-ops collection collection-check

help:
	@echo "make up          deploy the platform on this machine (Ansible, inventories/local)"
	@echo "make test        lint, service tests, the collection check, every Molecule scenario"
	@echo "make lint        ruff, mypy, yamllint, ansible-lint, shellcheck"
	@echo "make test-service  pytest only"
	@echo "make molecule    Molecule scenarios: $(SCENARIOS)"
	@echo "make collection  build the Ansible collection langchain_platform.ops into $(COLLECTION_DIR)"
	@echo "make bench       service benchmarks (prints figures)"

deps:
	lab/host-deps.sh
	lab/js-sdk.sh

lab: deps
	lab/setup.sh

up: lab
	$(BIN)/ansible-playbook -i $(INVENTORY) playbooks/site.yml
	@lab/print-health.sh

lint: deps
	$(BIN)/ruff check service harness tests bench molecule plugins
	$(BIN)/ruff format --check service harness tests bench molecule plugins
	$(BIN)/mypy
	$(BIN)/mypy plugins/filter
	$(BIN)/yamllint -s .
	$(BIN)/ansible-lint --profile production
	shellcheck lab/*.sh .ci/run

test-service: deps
	lab/docker-engine.sh
	$(BIN)/pytest -q -ra

# One scenario after the other (in the order of SCENARIOS) unless make runs with -j.
molecule: $(addprefix molecule-,$(SCENARIOS))

molecule-%: lab
	start=$$(date +%s); \
	$(BIN)/molecule test -s $*; \
	echo "molecule scenario $*: $$(( $$(date +%s) - start )) s"

collection: deps
	$(BIN)/ansible-galaxy collection build --force --output-path $(COLLECTION_DIR)

# What CI proves about the built collection: it holds only roles, playbooks, filter plugins, docs and metadata; installed alone
# into an empty collections path (the venv's bundled collections after it, for its dependencies), it runs site
# by FQCN in check mode against this machine, finding its roles inside itself (the roles path is emptied); and
# ansible-doc reads each role.
collection-check: collection lab
	extra=$$(tar -tzf $(COLLECTION_TARBALL) | cut -d/ -f1 | sort -u \
	  | grep -vxE 'roles|playbooks|plugins|docs|meta|README.md|CHANGELOG.md|MANIFEST.json|FILES.json' || true); \
	[ -z "$$extra" ] || { echo "collection-check: the tarball also holds: $$extra (build_ignore in galaxy.yml)" >&2; exit 1; }; \
	tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; mkdir "$$tmp/no-roles"; \
	export ANSIBLE_ROLES_PATH="$$tmp/no-roles"; \
	export ANSIBLE_COLLECTIONS_PATH="$$tmp:$$($(BIN)/python -c 'import ansible_collections as c, os; print(os.path.dirname(c.__path__[0]))')"; \
	$(BIN)/ansible-galaxy collection install --offline $(COLLECTION_TARBALL); \
	$(BIN)/ansible-playbook -i $(INVENTORY) langchain_platform.ops.site --check; \
	for role in $$(ls "$$tmp/ansible_collections/langchain_platform/ops/roles"); do \
	  $(BIN)/ansible-doc -t role "langchain_platform.ops.$$role"; \
	done

# The service suite and the default scenario run side by side (measured: 17.5 min together against 31 one
# after the other on 2 cores; each keeps its own ports and containers); the fleet, whose load steps count
# failed requests, runs alone after them. --output-sync prints each one's output whole when it ends.
test: lint collection-check
	$(MAKE) -j2 --output-sync=target test-service $(addprefix molecule-,$(filter default,$(SCENARIOS)))
	$(if $(filter-out default,$(SCENARIOS)),$(MAKE) $(addprefix molecule-,$(filter-out default,$(SCENARIOS))))

bench: deps
	$(BIN)/python -m bench.service_bench
	lab/langgraph-dev.sh && $(BIN)/python -m bench.agent_server_bench

bench-ops: lab
	$(BIN)/python -m bench.ops_bench
