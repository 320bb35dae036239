# The README's two commands: `make run` and `make test`. Both set up .venv on first use.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)

.PHONY: run demo-month test lint unit workflows e2e bench bench-speed bench-inbox bench-intake bench-funnel clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	rm -f $(VENV)/.installed-*
	touch $@

run: $(STAMP)  ## the engine on the embedded Temporal dev server (UI :8233), messages to the outbox
	$(PY) devstack.py

demo-month: $(STAMP)  ## with `make run` in another terminal: a month of generated leads played for the demo dealer (LEADS=300 SEED=1)
	$(PY) starter.py demo-month --leads $(or $(LEADS),300) --seed $(or $(SEED),1)

test: lint $(STAMP)  ## ruff, mypy and the whole suite with its own Temporal servers
	$(PY) -m pytest

lint: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy .

bench: $(STAMP)  ## close to the floor: six figures of Blanco next to Temporal's own floor (~20 min)
	$(PY) bench/close_to_floor.py

bench-speed: $(STAMP)  ## speed to lead: arrival → outbox line, against Temporal's own floor
	$(PY) bench/speed_to_lead.py

bench-inbox: $(STAMP)  ## the inbox: a customer's SMS → its task on the page; a salesperson's send → the provider
	$(PY) bench/inbox.py

bench-intake: $(STAMP)  ## intake over HTTP: signed leads through the API process, 202 → outbox
	$(PY) bench/intake.py

bench-funnel: $(STAMP)  ## the reports on 100,000 conversations, SQLite and PostgreSQL (when installed)
	$(PY) bench/funnel.py

clean:
	rm -rf $(VENV) .data .pytest_cache .mypy_cache .ruff_cache *.egg-info
