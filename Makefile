# goaltrajectory.platform — entry points. `make deploy` and `make test` set up
# everything they need on a fresh Debian/Ubuntu host (run as root or via sudo).
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := $(CURDIR)/.venv
STAMP := $(VENV)/.installed
COLLECTION_LINK := $(CURDIR)/.collections/ansible_collections/goaltrajectory/platform
ENV ?= dev
INVENTORY ?= inventories/$(ENV)
ANSIBLE_ARGS ?=
# In dependency order: docker_host brings up the engine every later scenario uses,
# images builds what compose deploys. Scenarios not listed here run after these.
MOLECULE_ORDER := docker_host images compose k8s k8s_cluster k8s_apply
# A scenario is a directory with a molecule.yml (molecule/shared holds helpers only).
MOLECULE_FOUND := $(patsubst molecule/%/molecule.yml,%,$(wildcard molecule/*/molecule.yml))
MOLECULE_SCENARIOS ?= $(filter $(MOLECULE_FOUND),$(MOLECULE_ORDER)) \
  $(filter-out $(MOLECULE_ORDER),$(sort $(MOLECULE_FOUND)))

export PATH := $(VENV)/bin:$(PATH)
export ANSIBLE_CONFIG := $(CURDIR)/ansible.cfg
export ANSIBLE_FORCE_COLOR ?= 0
export PY_COLORS ?= 0

.PHONY: help setup deploy test lint alert-rules sanity unit app-test integration molecule destroy bench build clean cluster-up cluster-down ee report

help: ## List targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-9s %s\n", $$1, $$2}'

# Debian's python3 lacks venv/ensurepip until python3-venv is installed.
$(STAMP): requirements/runtime.txt requirements/test.txt
	@if ! $(PYTHON) -c 'import ensurepip, venv' 2>/dev/null; then \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv; fi
	@test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements/test.txt
	@touch $@

# The reference backend has its own venv: its test deps (a ChromaDB server) are
# heavy and must not leak into the Ansible toolchain.
APP_VENV := $(CURDIR)/app/backend/.venv
$(APP_VENV)/.installed: app/backend/requirements.txt app/backend/requirements-test.txt app/backend/requirements-test-services.txt
	@test -x $(APP_VENV)/bin/python || $(PYTHON) -m venv $(APP_VENV)
	$(APP_VENV)/bin/pip install --quiet --disable-pip-version-check \
	  -r app/backend/requirements-test.txt -r app/backend/requirements-test-services.txt
	@touch $@

# Playbooks address our modules as goaltrajectory.platform.*: expose this checkout
# as that collection without building and installing a tarball.
$(COLLECTION_LINK):
	@mkdir -p $(dir $@)
	@ln -sfn ../../.. $@

setup: $(STAMP) $(COLLECTION_LINK) ## Create .venv with the pinned toolchain

# STRATEGY=mitogen_linear runs deploy/destroy under Mitogen's strategy: the same tasks, one
# persistent Python per host instead of one per module call (a no-op deploy 12.5 s -> 9.3 s).
# Opt-in, for a host already set up: Mitogen cannot run the apt module when it re-executes
# itself under the system Python (mitogen-hq/mitogen#849), which a first deploy needs.
STRATEGY ?= linear
STRATEGY_ENV = ANSIBLE_STRATEGY=$(STRATEGY) ANSIBLE_STRATEGY_PLUGINS=$$($(VENV)/bin/python -c \
  'import ansible_mitogen, os; print(os.path.dirname(ansible_mitogen.__file__))')/plugins/strategy

deploy: setup ## Deploy to the inventory in ENV (default dev: this host's Docker engine)
	$(STRATEGY_ENV) ansible-playbook deploy.yml -i $(INVENTORY) $(ANSIBLE_ARGS)

destroy: setup ## Remove what `make deploy` started (volumes kept unless -e compose_purge_volumes=true)
	$(STRATEGY_ENV) ansible-playbook playbooks/destroy.yml -i $(INVENTORY) $(ANSIBLE_ARGS)

lint: setup ## yamllint, ansible-lint (production profile), ruff, hadolint, alert rules (promtool), ansible-test sanity
	yamllint --strict .
	ansible-lint
	ruff check .
	ruff format --check .
	@files=$$(find docker -name 'Dockerfile*' 2>/dev/null); \
	  if [ -n "$$files" ]; then hadolint $$files; fi
	@$(MAKE) --no-print-directory alert-rules
	@$(MAKE) --no-print-directory sanity

# The alerting rules of every environment (roles/monitoring), rendered without an engine or a
# cluster from each inventory (monitoring_enabled=false: the rules only, no stack; no secret either,
# so no vault password: the exporter's, vaulted in staging and prod, is blanked), then: every
# rule has a firing and a quiet test, `promtool check
# rules`, `promtool test rules` at the environment's own thresholds, and the tests fail against
# rules that never or always fire (tests/lint/check_alert_rules.py). promtool is built from the
# Go module proxy once (about 1.5 min cold on two cores); later runs find it (a stat).
ALERT_RULES_ENVS := dev staging prod local
ALERT_RULES_DIR := $(CURDIR)/build/lint/monitoring
# promtool is built as the images role builds it for the Prometheus image (its module's version).
PROMTOOL_VERSION := $(shell sed -n '/^images_monitoring_versions:/,/^[^ ]/s/^  prometheus: *//p' roles/images/defaults/main.yml)
PROMTOOL := /opt/goaltrajectory/tools/promtool/$(PROMTOOL_VERSION)/promtool

$(PROMTOOL):
	ansible-playbook playbooks/monitoring_promtool.yml -i inventories/dev $(ANSIBLE_ARGS)

alert-rules: setup $(PROMTOOL) ## Render every environment's alert rules; promtool check + test them
	@mkdir -p $(CURDIR)/build/lint
	@for env in $(ALERT_RULES_ENVS); do \
	  ansible-playbook playbooks/monitoring.yml -i inventories/$$env -e monitoring_enabled=false \
	    -e monitoring_postgres_password= -e monitoring_output_dir=$(ALERT_RULES_DIR) > $(CURDIR)/build/lint/monitoring-$$env.log 2>&1 || \
	  { cat $(CURDIR)/build/lint/monitoring-$$env.log; exit 1; }; done
	python tests/lint/check_alert_rules.py $(PROMTOOL) $(addprefix $(ALERT_RULES_DIR)/,$(addsuffix /monitoring,$(ALERT_RULES_ENVS)))

# ansible-test sanity, offline: only PyPI is needed. ansible-test runs each sanity test in a venv
# of its own (~/.ansible/test/venv), created without pip, and bootstraps pip into it with a get-pip
# script downloaded from ci-files.testing.ansible.com, a host our machines do not reach (--venv
# bootstraps its venv the same way; --docker pulls its test image from quay.io, not reachable either,
# and needs the engine). tests/sanity/seed_get_pip.py writes that script, built from PyPI's pip
# wheel, where ansible-test looks first (~/.ansible/test/cache/get_pip_<version>.py); the tests'
# pinned requirements then come from PyPI.
# ansible-test wants its working directory, symlinks resolved, inside
# ansible_collections/<namespace>/<name>/: it runs on a copy of what git lists (new files too) under
# build/, made a git repository of its own, since ansible-test lists files with git from the nearest
# repository. Ignore entries, each with its reason: tests/sanity/ignore-<ansible-core minor>.txt.
SANITY_ROOT := $(CURDIR)/build/sanity/ansible_collections/goaltrajectory/platform

sanity: setup ## ansible-test sanity on the venv's Python, offline (PyPI only); ignores in tests/sanity/
	@if grep -Hnv ' # ' $(wildcard tests/sanity/ignore-*.txt) /dev/null; then \
	  echo "Each line of tests/sanity/ignore-*.txt needs its reason after ' # '."; exit 1; fi
	python tests/sanity/seed_get_pip.py
	@rm -rf $(SANITY_ROOT) && mkdir -p $(SANITY_ROOT)
	@git ls-files -z --cached --others --exclude-standard | \
	  while IFS= read -r -d '' f; do if [ -e "$$f" ]; then printf '%s\0' "$$f"; fi; done | \
	  tar --null -T - -cf - | tar -xf - -C $(SANITY_ROOT)
	@git -C $(SANITY_ROOT) init --quiet
	cd $(SANITY_ROOT) && ansible-test sanity --python $$(python -c 'import sys; print("%d.%d" % sys.version_info[:2])')

# The local single-node Kubernetes cluster (roles/k8s_cluster, inventories/local). A cold first
# run builds it from the Go module proxy (~10-20 min); later runs reuse /opt/k8s-cluster.
cluster-up: setup ## Bring up the local single-node Kubernetes cluster on this host
	ansible-playbook playbooks/k8s_cluster.yml -i inventories/local $(ANSIBLE_ARGS)

cluster-down: setup ## Stop the local cluster (data kept; PURGE=1 deletes it, binaries stay)
	ansible-playbook playbooks/k8s_cluster.yml -i inventories/local -e k8s_cluster_state=absent \
	  $(if $(PURGE),-e k8s_cluster_purge=true) $(ANSIBLE_ARGS)

# The AWX execution environment (execution-environment.yml), built offline from the golden Python
# base: ee/build.yml provides kubectl and cosign, ee/build.py stages and runs ansible-builder.
ee: setup ## Build the AWX execution environment image goaltrajectory-ee offline
	ansible-playbook ee/build.yml -i inventories/local $(ANSIBLE_ARGS)

unit: setup app-test ## Unit tests: no engine needed
	pytest tests/unit

# The backend's tests against a real PostgreSQL (Debian's binaries) and a real ChromaDB
# server; the frontend's tests run inside its image build (docker/frontend, test stage).
app-test: $(APP_VENV)/.installed ## Reference backend tests against real PostgreSQL and ChromaDB
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || { apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql; }
	cd app/backend && $(APP_VENV)/bin/python -m pytest

# The probe tests build a tiny image from the host's static busybox (no registry here).
integration: setup ## Integration tests against the real engine, servers and ansible-playbook
	@command -v busybox >/dev/null || { apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq busybox-static; }
	pytest --durations=25 tests/integration

# A scenario's whole output is also kept in build/molecule-<scenario>.log; when one fails, its
# failed tasks are printed again last, so the end of a long CI log names them.
molecule: setup ## Every molecule scenario: converge, idempotence, verify
	@mkdir -p build; for s in $(MOLECULE_SCENARIOS); do \
	  echo "=== molecule test -s $$s"; start=$$(date +%s); \
	  molecule test -s $$s 2>&1 | tee build/molecule-$$s.log || { \
	    echo "=== molecule $$s failed; its failed tasks (whole log: build/molecule-$$s.log):"; \
	    grep -B3 -A25 -E '^(fatal|failed): ' build/molecule-$$s.log | tail -150; exit 1; }; \
	  echo "=== molecule $$s: $$(( $$(date +%s) - start )) s" | tee -a build/test-times.txt; done

# Molecule runs before the integration tests: its docker_host scenario starts the engine they use.
# The local cluster's cold build (Go, ~15 CPU-minutes) starts in the background first, so it
# overlaps the suites before molecule/k8s_cluster, which finds the binaries or waits for them
# (one build per component at a time). Its log: build/cluster-prebuild.log.
test: setup ## Everything CI runs: lint, unit and integration tests, every molecule scenario
	@mkdir -p build
	@setsid ansible-playbook playbooks/k8s_cluster_binaries.yml -i inventories/local \
	  > build/cluster-prebuild.log 2>&1 & prebuild=$$!; \
	  trap 'kill -- -$$prebuild 2>/dev/null || true' EXIT; \
	  echo "The local cluster's binaries build in the background (build/cluster-prebuild.log)."; \
	  rm -f build/test-times.txt; for suite in lint unit molecule integration; do start=$$(date +%s); \
	    $(MAKE) --no-print-directory $$suite; \
	    echo "=== make $$suite: $$(( $$(date +%s) - start )) s" | tee -a build/test-times.txt; done; \
	  echo "=== make test: every suite passed; times:"; cat build/test-times.txt

bench: setup ## Speed and size figures as JSON under bench/results/, the speed table into bench/README.md
	@mkdir -p bench/results
	@for b in $(filter-out bench/report.py,$(wildcard bench/*.py)); do echo "=== $$b"; \
	  python $$b | tee bench/results/$$(basename $$b .py).json; done
	python bench/report.py

# Reads the monitoring stack's Prometheus (`make deploy`); options through REPORT_ARGS, e.g.
# REPORT_ARGS='--range 6h --out /tmp/report' (--prometheus, --range, --step, --out, --project;
# python scripts/monitoring_report.py --help).
REPORT_ARGS ?=

report: setup ## Request rate, p95 latency, CPU, memory per service over the last 1h: plots in build/report
	python scripts/monitoring_report.py $(REPORT_ARGS)

build: setup ## Build the collection tarball into build/
	ansible-galaxy collection build --force --output-path build .

clean: ## Remove the venv, collection link and build output
	rm -rf $(VENV) $(APP_VENV) .collections build
