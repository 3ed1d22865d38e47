"""Concurrent chat requests against the running API on loopback: throughput, latency, errors.

Serves ``create_app(settings, build_service(settings, chat_model=...))`` with uvicorn in a thread
on 127.0.0.1, then sends ``--requests`` POST /v1/chat requests from ``--concurrency`` clients.
A baseline of the same number of GET /healthz requests is measured in the same run, so the figure
for answers can be read against what the HTTP stack alone costs on this machine.

    python benchmarks/service.py --model scripted --requests 40 --concurrency 4
    python benchmarks/service.py --model local --requests 6 --concurrency 2   # slow: CPU model

Bounded: at most ``--requests`` requests and ``--max-seconds`` of wall time per phase.
Answers refused with 503 (queue full) count as errors and are reported separately.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import httpx  # noqa: E402
import uvicorn  # noqa: E402

from api.app import create_app  # noqa: E402
from assistant.settings import ApiSettings, DbSettings, Settings, StoreSettings  # noqa: E402

QUESTIONS = [
    "How do I register a deal?",
    "What discount does a gold partner get?",
    "Which training should a new sales rep take?",
    "How long is a deal registration valid?",
]


def _chat_model(kind: str):
    if kind == "local":
        return None  # the service's default: the packaged local model
    from assistant.llm import ScriptedChatModel

    return ScriptedChatModel(lambda messages: "Register the deal in the portal [1].")


def _serve(app) -> tuple[uvicorn.Server, threading.Thread, str]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    return server, thread, f"http://127.0.0.1:{port}"


def run_concurrently(send, count: int, concurrency: int, max_seconds: float) -> dict[str, object]:
    """``count`` calls of ``send(i)`` (returning a status) from ``concurrency`` threads; the
    statuses, throughput of 200s, p50/p95 latency (benchmarks/topology_load.py uses it too)."""
    deadline = time.perf_counter() + max_seconds
    latencies: list[float] = []
    statuses: Counter[str] = Counter()
    lock = threading.Lock()

    def one(i: int) -> None:
        if time.perf_counter() > deadline:
            with lock:
                statuses["skipped"] += 1
            return
        started = time.perf_counter()
        try:
            status = str(send(i))
        except httpx.HTTPError as exc:
            status = type(exc).__name__
        with lock:
            latencies.append(time.perf_counter() - started)
            statuses[status] += 1

    started = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(one, range(count)))
    elapsed = time.perf_counter() - started
    ok = statuses.get("200", 0)
    ordered = sorted(latencies)
    return {
        "requests": count,
        "ok": ok,
        "errors": sum(v for k, v in statuses.items() if k != "200"),
        "statuses": dict(statuses),
        "throughput_rps": ok / elapsed if elapsed else float("nan"),
        "p50_ms": statistics.median(ordered) * 1000 if ordered else float("nan"),
        "p95_ms": ordered[max(0, int(len(ordered) * 0.95) - 1)] * 1000 if ordered else float("nan"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=["scripted", "local"], default="scripted")
    parser.add_argument("--requests", type=int, default=40)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--max-seconds", type=float, default=300.0)
    parser.add_argument("--data", type=Path, default=Path("data"))
    args = parser.parse_args()

    from assistant.service import build_service

    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(
            store=StoreSettings(dir=Path(tmp) / "store"),
            db=DbSettings(url=f"sqlite:///{Path(tmp) / 'app.db'}"),
            api=ApiSettings(rate_limit="100000/minute"),
        )
        print(f"building service (model={args.model}) and ingesting {args.data} ...")
        service = build_service(settings, chat_model=_chat_model(args.model))
        service.ingest([args.data.resolve()], True)
        app = create_app(settings, service=service)
        token = app.state.auth.issue_token("bench", tier="gold", region="emea")
        server, thread, url = _serve(app)
        headers = {"Authorization": f"Bearer {token}"}
        try:
            with httpx.Client(base_url=url, timeout=600, headers=headers) as client:
                client.post("/v1/chat", json={"question": QUESTIONS[0]})  # warm-up
                baseline = run_concurrently(
                    lambda i: client.get("/healthz").status_code,
                    args.requests,
                    args.concurrency,
                    args.max_seconds,
                )
                chat = run_concurrently(
                    lambda i: (
                        client.post(
                            "/v1/chat", json={"question": QUESTIONS[i % len(QUESTIONS)]}
                        ).status_code
                    ),
                    args.requests,
                    args.concurrency,
                    args.max_seconds,
                )
        finally:
            server.should_exit = True
            thread.join(timeout=10)

    print(f"cpu cores: {os.cpu_count()}  concurrency: {args.concurrency}  model: {args.model}")
    for name, result in (("baseline GET /healthz", baseline), ("POST /v1/chat", chat)):
        print(
            f"{name:22s} ok {result['ok']}/{result['requests']}  "
            f"errors {result['errors']} {result['statuses']}  "
            f"{result['throughput_rps']:.1f} req/s  "
            f"p50 {result['p50_ms']:.0f} ms  p95 {result['p95_ms']:.0f} ms"
        )


if __name__ == "__main__":
    main()
