# The two commands a newcomer needs, plus a few conveniences. Each target creates
# .venv on first use (scripts/bootstrap.sh), so a fresh clone needs nothing else.
PY := .venv/bin/python
export DAGSTER_HOME ?= $(CURDIR)/var/dagster_home

.PHONY: venv demo test lint ui labelstudio bench-learnability bench-edge clean-var prod-up prod-down

venv:
	@bash scripts/bootstrap.sh

## The closed loop on embedded defaults (docs/demo.md): Dagster daemon + webserver, Label Studio and the
## edge agent as real processes; sensors collect, label, retrain, gate, release and promote. Ctrl-C stops all.
demo: venv
	$(PY) -m maskops_assets.demo

## Lint, then the whole test suite (what CI runs).
test: venv
	.venv/bin/ruff check .
	.venv/bin/pytest -q --timeout 900

lint: venv
	.venv/bin/ruff check .

## Dagster UI on http://127.0.0.1:3000 with the project's own DAGSTER_HOME.
ui: venv
	bash scripts/dagster-dev.sh

## Label Studio on http://127.0.0.1:8080 (own venv .venv-labelstudio, data in var/labelstudio):
## bootstraps a user, token and the maskops project, and prints how to connect maskops to it.
labelstudio: venv
	bash scripts/labelstudio.sh

## The production profile on loopback: PostgreSQL, S3 (moto), MLflow server, Dagster code server,
## daemon and webserver as separate processes (docs/production.md); settings in var/prod/env.
prod-up: venv
	bash scripts/prod-up.sh

prod-down:
	bash scripts/prod-down.sh

bench-learnability: venv
	$(PY) bench/learnability.py

bench-edge: venv
	$(PY) bench/edge_throughput.py

clean-var:
	rm -rf var
