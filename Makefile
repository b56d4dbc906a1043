.PHONY: bootstrap run test lint

bootstrap:
	@bash deploy/bootstrap.sh

# The whole stack in the foreground: API, worker with its LibreOffice instances, Redis.
run: bootstrap
	.venv/bin/python -m docrender.stack

test: bootstrap
	.venv/bin/ruff check .
	.venv/bin/python -m pytest

lint: bootstrap
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .
