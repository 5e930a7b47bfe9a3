# The README's commands are exactly what CI runs.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# The browser tests drive Debian's chromium through playwright (never `playwright install`).
CHROMIUM := $(VENV)/.chromium
# The directory tests run Debian's OpenLDAP server as a child process (the system daemon stays off).
SLAPD    := $(VENV)/.slapd
SUDO     := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
# The Spark engine's tests run Spark in the test process: Java 17 or later, from Debian if missing.
JAVA     := $(VENV)/.java
# `make demo SERVE=0` stops after the report instead of serving the dashboards.
SERVE    ?= 1
# SQL lint of the dbt project (.sqlfluff): its dbt templater compiles the models against the
# profile, which reads the warehouse paths from the environment; scratch files under dbt/target.
# The second pass compiles for Spark (.sqlfluff-spark), which starts Spark in the lint's process:
# bound to loopback, its warehouse and metastore among the scratch files.
SQLFLUFF := UNTICKET_WAREHOUSE=$(CURDIR)/dbt/target/sqlfluff/warehouse.duckdb \
	UNTICKET_BUILD_STATE=$(CURDIR)/dbt/target/sqlfluff/build-state.duckdb \
	DBT_SEND_ANONYMOUS_USAGE_STATS=false SPARK_LOCAL_IP=127.0.0.1 \
	PYSPARK_SUBMIT_ARGS="--conf spark.sql.warehouse.dir=$(CURDIR)/dbt/target/sqlfluff/spark \
	--conf spark.ui.enabled=false --driver-java-options \
	-Dderby.system.home=$(CURDIR)/dbt/target/sqlfluff/spark pyspark-shell" $(BIN)/sqlfluff
SQL_LINT := $(SQLFLUFF) lint dbt/models dbt/tests dbt/macros

.PHONY: demo test lint format install clean bench

$(STAMP): pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.lock
	$(BIN)/pip install --quiet --no-deps -e '.[dev]'
	touch $(STAMP)

$(CHROMIUM): | $(STAMP)
	command -v chromium >/dev/null || ($(SUDO) apt-get update && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y --no-install-recommends chromium)
	touch $(CHROMIUM)

$(SLAPD): | $(STAMP)
	test -x /usr/sbin/slapd -a -x /usr/sbin/slapadd || ($(SUDO) apt-get update && \
		echo "slapd slapd/no_configuration boolean true" | $(SUDO) debconf-set-selections && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y --no-install-recommends slapd ldap-utils)
	touch $(SLAPD)

$(JAVA): | $(STAMP)
	command -v java >/dev/null || ($(SUDO) apt-get update && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y --no-install-recommends default-jre-headless)
	touch $(JAVA)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/unticket simulate --employees 2000 --days 90 --seed 7 --replace
	$(BIN)/unticket pipeline run nightly
	$(BIN)/unticket kpis
	$(BIN)/unticket report --period week
ifneq ($(SERVE),0)
	$(BIN)/unticket dashboard --port 8501 --headless
endif

test: $(STAMP) $(CHROMIUM) $(SLAPD) $(JAVA)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	mkdir -p dbt/target/sqlfluff
	$(SQL_LINT)
	$(SQL_LINT) --config .sqlfluff-spark
	$(BIN)/pytest

lint: $(STAMP) $(JAVA)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	mkdir -p dbt/target/sqlfluff
	$(SQL_LINT)
	$(SQL_LINT) --config .sqlfluff-spark

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: $(STAMP) $(CHROMIUM) $(JAVA)
	$(BIN)/pip install --quiet -e '.[evaluation]'
	$(BIN)/python -m bench.understanding
	$(BIN)/python -m bench.embeddings
	$(BIN)/python bench/engine.py
	$(BIN)/python bench/http_api.py
	$(BIN)/python -m bench.simulation
	$(BIN)/python bench/warehouse.py
	$(BIN)/python bench/warehouse.py --engine spark
	$(BIN)/python bench/dashboard.py
	$(BIN)/python -m bench.models_all
	$(BIN)/python -m bench.slack_latency
	$(BIN)/python -m bench.redaction_speed
	$(BIN)/python bench/proactive.py

clean:
	rm -rf $(VENV) data/local
