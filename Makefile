# The two commands: `make run` and `make test`. Both install what is missing first.
.PHONY: run test pytest bench screenshots lint format cluster-test

PYTEST_ARGS ?=

PY := .venv/bin/python
# The pictures the README shows, taken by the browser tests (`make screenshots`).
README_PICTURES := dashboard.png run_detail.png approval_queue.png mapping_designer.png \
	error_queue.png outage_dashboard.png runs_list.png approval_card.png flow_settings.png

# Ctrl-C stops every process (the worker hands its runs back first); honcho then exits 130,
# the way out of `make run`, not an error.
# The demo: well-known accounts, and server-side requests may reach the sandboxes on this
# machine. Production starts differently (README, "Running in production").
run: export CLARITY_DEMO = 1
run: export CLARITY_OUTBOUND_ALLOWED_HOSTS ?= 127.0.0.1,localhost
run:
	@scripts/setup.sh
	@$(PY) manage.py migrate --no-input -v 0
	@$(PY) manage.py collectstatic --no-input -v 0
	@$(PY) manage.py seed_demo
	@echo
	@echo "  Clarity Connect: http://127.0.0.1:8000   (log in as admin / $${CLARITY_DEMO_PASSWORD:-clarity-demo})"
	@echo "  Other demo users: operator, approver, viewer (same password). Ctrl-C stops everything."
	@echo
	@.venv/bin/honcho start || [ $$? -eq 130 ]

test:
	@scripts/setup.sh --browser
	@.venv/bin/ruff check .
	@.venv/bin/ruff format --check .
	@$(PY) manage.py collectstatic --no-input -v 0
	@$(MAKE) -s pytest

pytest:
	@$(PY) -m pytest -n 2 --dist loadgroup $(PYTEST_ARGS)

# Each benchmark prints one JSON object as its last line; the lines are collected in
# var/bench/results.jsonl. bench/cluster.py needs root, `ip` and PostgreSQL; without them its
# line says it was skipped and why.
bench:
	@scripts/setup.sh
	@mkdir -p var/bench
	@: > var/bench/results.jsonl
	@for script in bench/*.py; do \
		echo "==> $$script"; \
		$(PY) $$script > var/bench/last.out || { cat var/bench/last.out; exit 1; }; \
		cat var/bench/last.out; tail -n 1 var/bench/last.out >> var/bench/results.jsonl; \
	done
	@echo "Results: var/bench/results.jsonl"

# Two web and three worker hosts in network namespaces (needs root), one worker host killed
# mid-load: exits 1 when a deal is lost, made twice in Sage, or throughput is not back in 60 s.
cluster-test:
	@scripts/setup.sh --browser
	@$(PY) bench/cluster.py --quick --require

# The README's pictures: the browser tests take them into var/screenshots/.
screenshots:
	@scripts/setup.sh --browser
	@$(PY) manage.py collectstatic --no-input -v 0
	@$(PY) -m pytest -q -p no:xdist tests/e2e/test_operations.py \
		tests/e2e/test_mapping_designer.py tests/e2e/test_error_queue.py tests/e2e/test_outage.py \
		tests/e2e/test_runs_list.py tests/e2e/test_approvals_money.py tests/e2e/test_flow_settings.py
	@mkdir -p docs/screenshots && cd var/screenshots && cp $(README_PICTURES) ../../docs/screenshots/

lint:
	@.venv/bin/ruff check .
	@.venv/bin/ruff format --check .

format:
	@.venv/bin/ruff check --fix .
	@.venv/bin/ruff format .
