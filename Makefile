# Panel: `make run` serves the panel locally, `make test` runs the whole suite against real
# servers (see tests/rig/). Everything runs from the project's virtualenv in .venv/.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
NODE_STAMP := node_modules/.installed
DEV    := DJANGO_SETTINGS_MODULE=panel.settings.dev
PYTEST_ARGS ?=

# A throw-away key for `check-deploy` only: production settings refuse to start without one.
DUMMY_SECRET_KEY := check-deploy-only-0f3a9c1e7b5d2a8f4c6e0b9d1a7f3c5e8b2d4f6a0c9e1b3d5f7a

.DEFAULT_GOAL := help
.PHONY: help venv node_modules run test lint fmt bench messages check-deploy mail-demo

help: ## List the targets
	@grep -E '^[a-z_-]+:.*## ' $(MAKEFILE_LIST) | awk -F ':.*## ' '{printf "  make %-13s %s\n", $$1, $$2}'

venv: $(STAMP) $(NODE_STAMP) ## Create .venv with the panel and its extras, and node_modules/

# Re-run the install only when pyproject.toml changes (or .venv is gone).
$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -e '.[dev,embedded]'
	@touch $@

node_modules: $(NODE_STAMP) ## Install the browser libraries the panel serves (npm, package-lock.json)

# The exact versions of package-lock.json, again only when it changes (or node_modules/ is
# gone); settings/base.py serves them as static files (STATICFILES_DIRS).
$(NODE_STAMP): package-lock.json
	npm ci --no-audit --no-fund
	@touch $@

run: venv ## Migrate, create the demo organisation and serve on http://127.0.0.1:8000
	$(DEV) $(BIN)/python manage.py migrate --noinput
	$(DEV) $(BIN)/python manage.py collectstatic --noinput --verbosity 0
	$(DEV) $(BIN)/python manage.py seed_demo
	$(DEV) $(BIN)/python manage.py runpanel

mail-demo: venv ## Postfix, Dovecot and the policy service from deploy/, to try outgoing limits (root)
	$(DEV) $(BIN)/python deploy/mail_demo.py

test: venv ## Run the whole test suite against real PostgreSQL and Redis (PYTEST_ARGS=...)
	DJANGO_SETTINGS_MODULE=panel.settings.test $(BIN)/pytest $(PYTEST_ARGS)

lint: venv ## Check style and common mistakes with ruff
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

fmt: venv ## Fix what ruff can fix and reformat
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: venv ## Run every bench/*.py; each prints its figures and ratio
	@set -e; for script in bench/*.py; do \
		echo "== $$script"; \
		$(DEV) $(BIN)/python $$script; \
	done

messages: venv ## Update and compile the French translations (needs gettext)
	$(DEV) $(BIN)/python manage.py makemessages --locale fr --ignore .venv --ignore var \
		--ignore node_modules --ignore tests --ignore bench
	$(DEV) $(BIN)/python manage.py compilemessages --locale fr --ignore .venv --ignore var \
		--ignore node_modules

check-deploy: venv ## Django's deployment checklist on the production settings
	DJANGO_SETTINGS_MODULE=panel.settings.production PANEL_SECRET_KEY=$(DUMMY_SECRET_KEY) \
		PANEL_ALLOWED_HOSTS=panel.example.com \
		$(BIN)/python manage.py check --deploy --fail-level WARNING
