"""/metrics with several worker processes: prometheus-client's multiprocess mode (when
``PROMETHEUS_MULTIPROC_DIR`` is set) makes any worker report what all of them counted.

Each "worker" is a real Python process serving requests through the app's metrics middleware;
the last one only scrapes."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

WORKER = """
import sys
from fastapi import FastAPI
from fastapi.testclient import TestClient
from api.metrics import ApiMetrics

metrics = ApiMetrics()
app = FastAPI()

@app.get("/ping")
def ping():
    return {}

@app.get("/metrics")
def scrape():
    return metrics.render()

metrics.install(app)
client = TestClient(app)
for _ in range(int(sys.argv[1])):
    client.get("/ping")
sys.stdout.write(client.get("/metrics").text)
"""


def _worker(requests: int, env: dict[str, str]) -> str:
    done = subprocess.run(
        [sys.executable, "-c", WORKER, str(requests)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def _pings(scrape: str) -> float:
    pattern = r'pa_http_requests_total\{[^}]*route="/ping"[^}]*status="200"[^}]*\} (\S+)'
    found = re.search(pattern, scrape)
    return float(found[1]) if found else 0.0


def test_every_worker_reports_the_requests_of_all_workers(tmp_path):
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}

    _worker(3, env)
    second = _worker(5, env)
    scraper = _worker(0, env)

    assert _pings(second) == 8
    assert _pings(scraper) == 8
    assert "pa_http_request_seconds_bucket" in scraper


def test_without_the_directory_a_worker_reports_its_own_requests(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "PROMETHEUS_MULTIPROC_DIR"}

    assert _pings(_worker(2, env)) == 2
