.PHONY: bootstrap run test test-unit lint bench catalogs

bootstrap:
	@bash deploy/bootstrap.sh

# The whole stack in the foreground: API, worker with its LibreOffice instances, Redis.
run: bootstrap
	.venv/bin/python -m cli.stack

test: bootstrap
	.venv/bin/ruff check .
	.venv/bin/lint-imports
	.venv/bin/mypy
	.venv/bin/python -m pytest

# The tests that need neither Redis nor LibreOffice: seconds, not minutes.
test-unit: bootstrap
	.venv/bin/python -m pytest -m "not redis and not libreoffice"

lint: bootstrap
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .
	.venv/bin/lint-imports
	.venv/bin/mypy

# The translation catalogs (docrender/translations/, docs/translations.md): extract the message
# ids from the code and templates, bring each .po up to date (new ids untranslated, gone ones
# dropped), compile. tests/docrender/test_i18n.py fails until every new id is translated.
catalogs: bootstrap
	.venv/bin/pybabel extract -F babel.cfg -k _ -k ngettext:1,2 --no-location --sort-output \
		--project docrender -o docrender/translations/messages.pot .
	.venv/bin/pybabel update -i docrender/translations/messages.pot -d docrender/translations \
		--no-fuzzy-matching --ignore-obsolete --width 100
	.venv/bin/pybabel compile -d docrender/translations

# Benchmarks write their results under bench/results/.
bench: bootstrap
	@bash bench/bootstrap.sh
	.venv/bin/python bench/converter_tuning.py
	.venv/bin/python bench/run.py
