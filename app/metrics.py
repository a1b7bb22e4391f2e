"""Prometheus metrics, with the official client; safe with several worker processes.

``kep serve`` points ``PROMETHEUS_MULTIPROC_DIR`` at a folder of its own before any
worker starts, so that every worker writes its samples there and ``/metrics``, whichever
worker answers it, sums them all. Without that variable (tests, a single process) the
client keeps them in memory.
"""

import os

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

# Every label value is a series kept for the life of the process, so labels take values
# from bounded sets only: the route's template (or "unmatched"), the status, and the
# method by name if it is one of these, any other a client invents being "other".
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
OTHER_METHOD = "other"


def method_label(method: str) -> str:
    return method if method in METHODS else OTHER_METHOD


REQUESTS = Counter(
    "kep_http_requests_total", "HTTP requests answered", ["method", "route", "status"]
)
LATENCY = Histogram(
    "kep_http_request_duration_seconds",
    "Time from a request's arrival to the end of its answer",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
DB_SLOT_WAIT = Histogram(
    "kep_db_slot_wait_seconds",
    "Time requests waited for a database slot",
    buckets=(0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 2.5, 5, 10),
)
DB_SLOT_TIMEOUTS = Counter(
    "kep_db_slot_timeouts_total", "Requests answered 503 because no database slot came free"
)
DB_SLOTS_IN_USE = Gauge(
    "kep_db_slots_in_use", "Database slots held by requests", multiprocess_mode="livesum"
)
DB_CONNECTIONS_IN_USE = Gauge(
    "kep_db_connections_in_use",
    "Pooled database connections checked out",
    multiprocess_mode="livesum",
)

CONTENT_TYPE = CONTENT_TYPE_LATEST


def exposition() -> bytes:
    """The process's metrics, or every worker's when they share a metrics folder."""
    if "PROMETHEUS_MULTIPROC_DIR" in os.environ:
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:
        registry = REGISTRY
    return generate_latest(registry)


def process_ended(pid: int | None = None) -> None:
    """Drop the live gauges of this worker (or of the process ``pid``) when it stops."""
    if "PROMETHEUS_MULTIPROC_DIR" in os.environ:
        multiprocess.mark_process_dead(pid or os.getpid())
