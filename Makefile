# One entry point for people and CI. Every target installs what it needs first.
SHELL := /bin/bash
.DEFAULT_GOAL := help

export PIPENV_VENV_IN_PROJECT := 1
export PIPENV_VERBOSITY := -1
export PIPENV_NOSPIN := 1
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
export CHECKPOINT_DISABLE := 1
# Offline machines mirror the AWS provider here; elsewhere the normal registry is used.
TF_MIRROR ?= /opt/tf-plugins
ifneq ($(wildcard $(TF_MIRROR)),)
export TF_CLI_CONFIG_FILE := $(CURDIR)/.build/terraformrc
endif

PY := .venv/bin/python
# TOOLCHAIN=cdktn: synth/checkov with CDK Terrain + aws 6.x from its own lock and venv
# (toolchains/cdktn/, docs/toolchains.md). The default venv stays for tests and tools.
TOOLCHAIN ?= cdktf
ifeq ($(filter $(TOOLCHAIN),cdktf cdktn),)
$(error TOOLCHAIN=$(TOOLCHAIN): must be cdktf or cdktn)
endif
CDKTN_PY := toolchains/cdktn/.venv/bin/python
SYNTH_PY := $(if $(filter cdktn,$(TOOLCHAIN)),$(CDKTN_PY),$(PY))
PIPENV_VERSION := 2026.10.3
# buildah + qemu-user-static + debootstrap + binfmt-support: `make image` (arm64 on x86 hosts too);
# skopeo + docker-registry: `make release` and its end-to-end test.
# chromium + chromium-driver: browser tests of the reference application's pages (headless).
APT_PACKAGES := redis-server haproxy wrk buildah qemu-user-static debootstrap binfmt-support skopeo docker-registry chromium chromium-driver

.PHONY: help install synth bootstrap-state demo down release test image bench-synth bench-app bench-django bench-integrations checkov clean

help:
	@echo "make demo         deploy session-dev to a local AWS emulator and run the system on 127.0.0.1; both stay up"
	@echo "make down         stop everything 'make demo' started (stopping the emulator discards session-dev)"
	@echo "make release ENV=dev [DIGEST=sha256:...]  build, push and deploy the image by digest (AWS); DIGEST: redeploy/roll back"
	@echo "             [DOCKERFILE=examples/flask/Dockerfile CONTEXT=.]  another image (docs/container-contract.md)"
	@echo "make test         run the whole test suite"
	@echo "make synth        synthesize every stack into cdktf.out/stacks/ [TOOLCHAIN=cdktf|cdktn]"
	@echo "make bootstrap-state  move session-bootstrap's local state into the state bucket ([backend] bootstrap_state = \"bucket\")"
	@echo "make image        build the service image from app/Dockerfile with buildah [ARCH=arm64|amd64]"
	@echo "make bench-synth  cold synthesis: this project's loader against the documented import"
	@echo "make bench-app    session service throughput and latency against Flask-Session"
	@echo "make bench-django Django session reads: memorydb_sessions.django vs no sessions vs the cache engine"
	@echo "make bench-integrations Flask/ASGI session reads: ours vs no sessions vs Flask-Session / Starlette's cookie middleware"
	@echo "make checkov      static security checks on the synthesized stacks"

# Django's own session tests (SessionTestsMixin) ship only in its source distribution; the
# version is the Pipfile's. tests/lib/django fetches it the same way if this did not run.
DJANGO_VERSION := $(shell sed -n 's/^django = "==\(.*\)"/\1/p' Pipfile)
DJANGO_SDIST := .build/django-sdist/django-$(DJANGO_VERSION).tar.gz

install: .build/apt.stamp .venv/.synced node_modules/.installed $(if $(TF_CLI_CONFIG_FILE),.build/terraformrc) $(DJANGO_SDIST) \
  $(if $(filter cdktn,$(TOOLCHAIN)),toolchains/cdktn/.venv/.synced toolchains/cdktn/cli/node_modules/.installed)

$(DJANGO_SDIST): Pipfile
	@mkdir -p $(@D)
	python3 -m pip download --quiet --no-binary :all: --no-deps django==$(DJANGO_VERSION) -d $(@D)
	@touch $@

# Re-checked whenever this file changes (a package added to the list gets installed).
.build/apt.stamp: Makefile
	@mkdir -p .build
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi
	@touch $@

.venv/.synced: Pipfile.lock
	@command -v pipenv >/dev/null || python3 -m pip install -q pipenv==$(PIPENV_VERSION)
	pipenv sync --dev
	@touch $@

toolchains/cdktn/.venv/.synced: toolchains/cdktn/Pipfile.lock
	@command -v pipenv >/dev/null || python3 -m pip install -q pipenv==$(PIPENV_VERSION)
	cd toolchains/cdktn && pipenv sync --dev
	@touch $@

# `cdktn synth` (docs/toolchains.md): cdktn-cli and the Node 22 it needs, both npm packages.
toolchains/cdktn/cli/node_modules/.installed: toolchains/cdktn/cli/package-lock.json
	cd toolchains/cdktn/cli && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

tools/checkov/.venv/.synced: tools/checkov/Pipfile.lock
	@command -v pipenv >/dev/null || python3 -m pip install -q pipenv==$(PIPENV_VERSION)
	cd tools/checkov && pipenv sync
	@touch $@

node_modules/.installed: package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

.build/terraformrc:
	@mkdir -p .build
	@printf 'provider_installation {\n  filesystem_mirror {\n    path    = "%s"\n    include = ["registry.terraform.io/hashicorp/aws"]\n  }\n  direct {\n    exclude = ["registry.terraform.io/hashicorp/aws"]\n  }\n}\n' "$(TF_MIRROR)" > $@

synth: install
	rm -rf cdktf.out
	CDK_TOOLCHAIN=$(TOOLCHAIN) $(SYNTH_PY) main.py

# Once `[backend] bootstrap_state = "bucket"` (AWS credentials in the environment).
bootstrap-state: synth
	$(PY) -m deploy.bootstrap_state cdktf.out

# Both toolchains: tests/infra/test_toolchains.py synthesizes with each, and with the cdktn CLI.
test: install tools/checkov/.venv/.synced toolchains/cdktn/.venv/.synced toolchains/cdktn/cli/node_modules/.installed
	$(PY) tests/run_suites.py

# ARCH defaults to the task definition's architecture of ENV (dev): ARM64 -> arm64.
image: .build/apt.stamp .venv/.synced
	$(PY) -m deploy.image $(if $(ARCH),--arch $(ARCH)) $(if $(ENV),--env $(ENV))

demo: install
	$(PY) -m localdev demo

# Build the image for the environment's architecture, push it to its ECR repository, deploy
# it by digest and wait for steady state. DIGEST=sha256:... deploys an already-pushed image.
# DOCKERFILE=... [CONTEXT=...] builds another image than the service's (default context: the root).
release: install
	$(PY) -m deploy release --env $(ENV) $(if $(DIGEST),--digest $(DIGEST)) \
	  $(if $(DOCKERFILE),--dockerfile $(DOCKERFILE)) $(if $(CONTEXT),--context $(CONTEXT))

# Stops every process by its recorded PID, the emulator too: session-dev and its Terraform state
# live only in the emulator's memory, so that is the teardown (terraform destroy is tests/deploy's).
down:
	@if [ -x $(PY) ]; then $(PY) -m localdev down; fi

bench-synth: install
	$(PY) -m bench.synth

bench-app: install
	$(PY) -m bench.app

bench-django: install
	$(PY) -m bench.django_sessions

bench-integrations: install
	$(PY) -m bench.integrations

# One configuration per stack (.checkov/<env>.yaml): prod strict, dev/staging with their own skips.
checkov: synth tools/checkov/.venv/.synced
	@status=0; for config in .checkov/*.yaml; do \
	  echo "== checkov $$config"; tools/checkov/.venv/bin/checkov --config-file $$config || status=1; \
	done; exit $$status

clean:
	rm -rf cdktf.out .build .pytest_cache
