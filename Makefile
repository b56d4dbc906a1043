.PHONY: bootstrap run test test-unit lint bench

bootstrap:
	@bash deploy/bootstrap.sh

# The whole stack in the foreground: API, worker with its LibreOffice instances, Redis.
run: bootstrap
	.venv/bin/python -m cli.stack

test: bootstrap
	.venv/bin/ruff check .
	.venv/bin/python -m pytest

# The tests that need neither Redis nor LibreOffice: seconds, not minutes.
test-unit: bootstrap
	.venv/bin/python -m pytest -m "not redis and not libreoffice"

lint: bootstrap
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .

# Benchmarks write their results under bench/results/.
bench: bootstrap
	@bash bench/bootstrap.sh
	.venv/bin/python bench/converter_tuning.py
	.venv/bin/python bench/run.py
