# Two entry points: `make run` and `make test`. Everything else is a step they depend on.
# Installs are idempotent (stamp files under .make/) and work offline from WHEELHOUSE when set.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := .make
# Built llama-cpp-python wheels are cached outside the checkout so clean clones reuse them.
WHEEL_CACHE ?= $(HOME)/.cache/voice-appliance/wheels
LLAMA_VERSION := 0.3.36
LLAMA_CMAKE_ARGS := -DLLAVA_BUILD=OFF -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON
# Ansible + ansible-lint for the deployment tests, in their own venv (ansible 12 = core 2.19).
DEPLOY_TOOLS ?= $(HOME)/.cache/voice-appliance/deploy-tools
# Optional: a local directory of wheels for air-gapped installs (pip --no-index).
WHEELHOUSE ?=
PIP_SRC := $(if $(WHEELHOUSE),--no-index --find-links $(WHEELHOUSE),) --find-links $(WHEEL_CACHE)
APT_RUN := espeak-ng sox
APT_TEST := sip-tester baresip-core kamailio pocketsphinx-testdata debootstrap systemd systemd-container
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
export HF_HUB_OFFLINE := 1
export OMP_NUM_THREADS := 1

.PHONY: run test setup setup-test system system-test venv llama deps deps-test models lint bench \
	clean deploy-tools bundle

run: setup
	@[ -f var/credentials/kek ] || $(BIN)/appliance keys init
	$(BIN)/appliance serve

test: setup-test
	$(BIN)/ruff check appliance tests
	$(BIN)/pytest

setup: system deps models
setup-test: system-test deps-test models deploy-tools

system: $(STAMP)/system
system-test: $(STAMP)/system-test

$(STAMP)/system:
	@mkdir -p $(STAMP)
	@missing=$$(for p in $(APT_RUN); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then $(SUDO) apt-get update -q && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -q --no-install-recommends $$missing; fi
	@touch $@

$(STAMP)/system-test: $(STAMP)/system
	@missing=$$(for p in $(APT_TEST); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then $(SUDO) apt-get update -q && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -q --no-install-recommends $$missing; fi
	@touch $@

venv: $(BIN)/python
$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

# llama-cpp-python has no wheel on PyPI: build it once (portable AVX2, ~4 min) and cache it.
llama: $(BIN)/python
	@mkdir -p $(WHEEL_CACHE)
	@if ! ls $(WHEEL_CACHE)/llama_cpp_python-$(LLAMA_VERSION)-*.whl >/dev/null 2>&1; then \
	  if [ -n "$(WHEELHOUSE)" ] && ls $(WHEELHOUSE)/llama_cpp_python-$(LLAMA_VERSION)-*.whl >/dev/null 2>&1; then \
	    cp $(WHEELHOUSE)/llama_cpp_python-$(LLAMA_VERSION)-*.whl $(WHEEL_CACHE)/; \
	  else \
	    echo "building llama-cpp-python $(LLAMA_VERSION) (one time, cached in $(WHEEL_CACHE))"; \
	    CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" CMAKE_BUILD_PARALLEL_LEVEL=2 \
	      $(BIN)/pip wheel -q --no-deps $(PIP_SRC) -w $(WHEEL_CACHE) llama-cpp-python==$(LLAMA_VERSION); \
	  fi; fi

deps: $(STAMP)/deps
$(STAMP)/deps: pyproject.toml | llama
	@mkdir -p $(STAMP)
	$(BIN)/pip install -q $(PIP_SRC) -e .
	@touch $@

deps-test: $(STAMP)/deps-test
$(STAMP)/deps-test: pyproject.toml $(STAMP)/deps
	$(BIN)/pip install -q $(PIP_SRC) -e '.[test]'
	@touch $@

models: $(STAMP)/deps
	$(BIN)/appliance models install $(if $(WHEELHOUSE),--wheelhouse $(WHEELHOUSE),)

deploy-tools: $(DEPLOY_TOOLS)/.stamp
$(DEPLOY_TOOLS)/.stamp:
	$(PYTHON) -m venv $(DEPLOY_TOOLS)
	$(DEPLOY_TOOLS)/bin/pip install -q $(PIP_SRC) 'ansible==12.3.0' 'ansible-lint==26.10.1'
	@touch $@

# Offline install bundle for air-gapped sites (wheels, models, .debs, units, Ansible role).
bundle: deps
	$(BIN)/appliance bundle --out dist/bundle-$$(date +%Y%m%d%H%M%S) --tar

lint: deps-test
	$(BIN)/ruff check appliance tests

bench: setup
	$(BIN)/appliance bench latency

clean:
	rm -rf $(STAMP) $(VENV)
