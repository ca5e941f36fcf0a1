"""What an on-call engineer watches, as Prometheus metrics: one registry per process, served at
`/metrics` by web, bot and worker (docs/operations.md, "Metrics"). Labels are routes, reasons,
statuses and job names (`job_name`: Prometheus keeps `job` for the scrape target), never
anything a citizen gave."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

REGISTRY = CollectorRegistry(auto_describe=True)

REQUEST_SECONDS = Histogram(
    "qanagat_http_request_duration_seconds",
    "Time to answer an HTTP request, by route pattern, method and status class",
    ["route", "method", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
    registry=REGISTRY,
)
UPDATES_HANDLED = Counter(
    "qanagat_telegram_updates_handled_total",
    "Telegram updates handled, by update type",
    ["type"],
    registry=REGISTRY,
)
UPDATES_REFUSED = Counter(
    "qanagat_telegram_updates_refused_total",
    "Telegram updates refused or failed, by reason",
    ["reason"],
    registry=REGISTRY,
)
TELEGRAM_CALLS = Counter(
    "qanagat_telegram_api_calls_total",
    "Calls to the Bot API, by method and outcome (ok, 429, 4xx, 5xx, network)",
    ["method", "outcome"],
    registry=REGISTRY,
)
INVITATIONS_SENT = Counter(
    "qanagat_invitations_sent_total",
    "Invitation messages Telegram accepted (rate() of it is the send rate)",
    registry=REGISTRY,
)
OUTBOX_ROWS = Gauge(
    "qanagat_outbox_rows",
    "Invitation messages in the outbox, by status",
    ["status"],
    registry=REGISTRY,
)
OUTBOX_OLDEST_DUE_SECONDS = Gauge(
    "qanagat_outbox_oldest_due_seconds",
    "How long the oldest pending invitation message has been due (0 when none is)",
    registry=REGISTRY,
)
LEDGER_PENDING = Gauge(
    "qanagat_ledger_pending",
    "Completed responses waiting to be counted and chained into the ledger",
    registry=REGISTRY,
)
JOB_RUNS = Counter(
    "qanagat_job_runs_total",
    "Runs of the worker's periodic jobs, by job and outcome (ok, failed)",
    ["job_name", "outcome"],
    registry=REGISTRY,
)
JOB_SECONDS = Histogram(
    "qanagat_job_duration_seconds",
    "Duration of a periodic job's run",
    ["job_name"],
    buckets=(0.1, 0.5, 1, 5, 15, 60, 300, 900),
    registry=REGISTRY,
)
JOB_LAST_SUCCESS = Gauge(
    "qanagat_job_last_success_timestamp_seconds",
    "When a periodic job last finished without error (Unix time)",
    ["job_name"],
    registry=REGISTRY,
)
POOL_CONNECTIONS = Gauge(
    "qanagat_db_pool_connections",
    "This process's database connections: in_use, idle, and the pool's size",
    ["state"],
    registry=REGISTRY,
)
