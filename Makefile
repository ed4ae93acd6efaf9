# Two commands do all set-up on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app portal
STAMP := $(VENV)/.installed

.PHONY: run test install translations lint check-migrations worker clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check uv==0.13.9
	$(BIN)/uv pip install --quiet --python $(BIN)/python -e '.[test]'
	touch $(STAMP)

install: $(STAMP) translations

# Message catalogues are compiled at install time; the .mo files are not committed.
translations: $(STAMP)
	$(BIN)/pybabel compile --use-fuzzy -d portal/translations -D messages --statistics 2>&1 | tail -n 2

run: install
	$(FLASK) db upgrade
	$(FLASK) areas import portal/core/yingkou_divisions.csv
	$(FLASK) demo
	@echo "Development keys (made once; back them up with the database, see README, Backups):"
	@echo "  instance/id_encryption_key  instance/id_hash_key  instance/certificate_key  instance/secret_key"
	@echo "Database: instance/portal.db    uploads: instance/uploads"
	$(FLASK) run --host 127.0.0.1 --port 5000

test: install
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check portal tests benchmarks

# Regenerate the catalogue template and merge it into both catalogues (after changing strings).
extract: $(STAMP)
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext -o portal/translations/messages.pot --no-location --sort-output --omit-header .
	$(BIN)/pybabel update -i portal/translations/messages.pot -d portal/translations -D messages --no-fuzzy-matching --ignore-obsolete
	$(BIN)/python tools/i18n_sync.py

worker: install
	$(FLASK) worker

clean:
	rm -rf $(VENV) .pytest_cache
