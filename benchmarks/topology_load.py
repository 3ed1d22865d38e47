"""Load on the scale-out topology: a burst of concurrent chats, then a steady soak.

Starts what ``scripts/topology.py`` starts (a `chroma run` server, an ingest job, ``--workers``
API processes) on a scratch PostgreSQL database and a Redis key prefix of its own (both on
127.0.0.1, removed afterwards), with the chat model played by the OpenAI-compatible fake of
``tests/fakes/openai_server.py`` answering after ``--model-delay`` seconds (a remote model's
time for a short answer). The local reader is never loaded: on a shared 2-core box it would
measure the CPU, not the service.

- **load**: ``--requests`` POST /v1/chat from ``--concurrency`` clients (each its own partner),
  spread over the workers; statuses (200, 429 rate limited, 503 answer queue full), throughput,
  p50/p95 latency and RSS per worker; once with clients that take a refusal as final, once
  with clients that honour Retry-After (``--retries``). Baseline in the same run: as many
  GET /healthz.
- **soak**: search and chat mixed (``--search-share``; a third of the chats continue an earlier
  conversation on another worker) at ``--rate`` requests/s for ``--minutes``; per worker, RSS,
  open file descriptors and TCP connections (by peer: chroma, postgres, redis, llm, clients;
  needs psutil) after the warm-up, every minute and at the end, and the database's sessions.

    nice -n 10 .venv/bin/python benchmarks/topology_load.py --phase load --kb data
    nice -n 10 .venv/bin/python benchmarks/topology_load.py --phase soak --minutes 10 --rate 2

Needs PostgreSQL and Redis on 127.0.0.1 (as the tests do). Bounded: ``--max-seconds`` per load
phase, ``--minutes`` for the soak.
"""

from __future__ import annotations

import argparse
import importlib.util
import itertools
import os
import random
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks")]  # this checkout's code, not the installed

import httpx  # noqa: E402
from pydantic import SecretStr  # noqa: E402
from service import QUESTIONS, run_concurrently  # noqa: E402

from api.auth import Authenticator  # noqa: E402
from assistant.settings import AuthSettings, Settings  # noqa: E402
from tests.fakes.openai_server import FakeOpenAIServer  # noqa: E402

_spec = importlib.util.spec_from_file_location("topology", ROOT / "scripts" / "topology.py")
topology_script = sys.modules.setdefault("topology", importlib.util.module_from_spec(_spec))
_spec.loader.exec_module(topology_script)

SEARCHES = ["deal registration protection", "MDF claim deadline", "severity 1 response time"]
FOLLOW_UPS = ["and for platinum partners?", "and in EMEA?", "what about renewals?"]


def reply(body: dict[str, Any]) -> str:
    """The fake model: passage 1 of the reader's prompt, cited (so the answer verifies); the
    user's turns joined when asked to rewrite a follow-up."""
    prompt = body["messages"][-1]["content"]
    if "Standalone question:" in prompt:
        return " ".join(line[6:] for line in prompt.splitlines() if line.startswith("user: "))
    passages = [line for line in prompt.splitlines() if line.startswith("[1] ")]
    return f"{passages[0][4:].split(') ', 1)[-1].rstrip('.')} [1]." if passages else "NOT FOUND"


# -- what a worker process holds ----------------------------------------------------------------
def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time the process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def open_fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def tcp_by_peer(pid: int, own_port: int, peers: dict[int, str]) -> dict[str, int]:
    """Established TCP connections of ``pid`` by what is at the other end (psutil, if any)."""
    try:
        import psutil
    except ImportError:
        return {}
    counts: Counter[str] = Counter()
    for conn in psutil.Process(pid).net_connections(kind="tcp"):
        if conn.status != psutil.CONN_ESTABLISHED or not conn.raddr:
            continue
        if conn.laddr.port == own_port:
            counts["clients"] += 1
        else:
            counts[peers.get(conn.raddr.port, str(conn.raddr.port))] += 1
    return dict(sorted(counts.items()))


def database_sessions(url: str) -> int:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            query = "SELECT count(*) FROM pg_stat_activity WHERE datname = :name"
            own = 1  # this query's own session
            found = connection.execute(text(query), {"name": make_url(url).database}).scalar()
            return int(found or 0) - own
    finally:
        engine.dispose()


def snapshot(topology: Any, peers: dict[int, str], database: str) -> dict[str, Any]:
    workers = [
        {
            "pid": w.pid,
            "rss_mb": rss_mb(w.pid),
            "cpu_s": cpu_seconds(w.pid),
            "fds": open_fds(w.pid),
            "tcp": tcp_by_peer(w.pid, w.port, peers),
        }
        for w in topology.api
    ]
    return {"t": time.monotonic(), "workers": workers, "db_sessions": database_sessions(database)}


def show_snapshot(label: str, snap: dict[str, Any]) -> None:
    for n, w in enumerate(snap["workers"]):
        tcp = " ".join(f"{k}={v}" for k, v in w["tcp"].items()) or "(psutil not installed)"
        print(f"  {label:14s} worker{n} RSS {w['rss_mb']:7.1f} MB  fds {w['fds']:4d}  tcp {tcp}")
    print(f"  {label:14s} database sessions (all workers): {snap['db_sessions']}")


# -- the two phases -----------------------------------------------------------------------------
class Callers:
    """Signed partner tokens (one partner per client) and round-robin over the workers."""

    def __init__(self, secret: str, urls: list[str], partners: int) -> None:
        auth = Authenticator(Settings(auth=AuthSettings(jwt_secret=SecretStr(secret))))
        self.headers = [
            {"Authorization": f"Bearer {auth.issue_token(f'p{n}', tier='gold', region='emea')}"}
            for n in range(partners)
        ]
        self.urls = urls

    def post(
        self, client: httpx.Client, path: str, worker: int, partner: int, body: dict[str, Any]
    ) -> httpx.Response:
        url, headers = self.urls[worker % len(self.urls)], self.headers[partner % len(self.headers)]
        return client.post(f"{url}{path}", json=body, headers=headers)


def load(topology: Any, callers: Callers, args: argparse.Namespace) -> None:
    """The burst three ways: /healthz (what HTTP alone costs), chats whose clients take a 503
    or 429 as final, and chats whose clients wait the Retry-After and try again
    (``--retries`` times; the latency includes the waits)."""
    # Idle connections are dropped before uvicorn's 5 s keep-alive ends, so a client that waited
    # a Retry-After never sends on a connection the server is closing.
    limits = httpx.Limits(max_connections=args.concurrency * 2, keepalive_expiry=2)
    refused: Counter[str] = Counter()
    lock = threading.Lock()

    def chat(client: httpx.Client, i: int, retries: int) -> int:
        for attempt in range(retries + 1):
            answered = callers.post(client, "/v1/chat", i, i, {"question": QUESTIONS[i % 4]})
            if answered.status_code not in (429, 503) or attempt == retries:
                break
            with lock:
                refused[str(answered.status_code)] += 1
            time.sleep(min(float(answered.headers.get("retry-after", 1)), 10))
        return answered.status_code

    with httpx.Client(timeout=300, limits=limits) as client:
        urls = topology.urls
        senders = {
            "baseline GET /healthz": lambda i: (
                client.get(f"{urls[i % len(urls)]}/healthz").status_code
            ),
            "POST /v1/chat": lambda i: chat(client, i, retries=0),
            "POST /v1/chat, retrying": lambda i: chat(client, i, retries=args.retries),
        }
        results = {}
        for name, send in senders.items():
            cpu = sum(cpu_seconds(w.pid) for w in topology.api)
            results[name] = run_concurrently(
                send, args.requests, args.concurrency, args.max_seconds
            )
            results[name]["cpu_s"] = sum(cpu_seconds(w.pid) for w in topology.api) - cpu
    print(
        f"load: {args.requests} requests, {args.concurrency} concurrent clients, "
        f"{len(urls)} workers, model delay {args.model_delay}s"
    )
    for name, result in results.items():
        print(
            f"  {name:24s} ok {result['ok']}/{result['requests']}  "
            f"statuses {result['statuses']}  {result['throughput_rps']:.1f} req/s  "
            f"p50 {result['p50_ms']:.0f} ms  p95 {result['p95_ms']:.0f} ms  "
            f"workers' CPU {result['cpu_s']:.0f} s"
        )
    print(f"  refused and retried (Retry-After honoured): {dict(refused)}")


def soak(topology: Any, callers: Callers, args: argparse.Namespace, peers, database) -> None:
    rng = random.Random(7)
    statuses: dict[str, Counter[str]] = defaultdict(Counter)
    latencies: dict[str, list[float]] = defaultdict(list)
    conversations: list[tuple[int, int, str]] = []  # (worker, partner, conversation id)
    lock = threading.Lock()

    def one(client: httpx.Client, i: int) -> None:
        kind = "search" if rng.random() < args.search_share else "chat"
        started = time.perf_counter()
        try:
            if kind == "search":
                body = {"query": SEARCHES[i % len(SEARCHES)]}
                answered = callers.post(client, "/v1/search", i, i % 20, body)
            else:
                with lock:
                    earlier = rng.choice(conversations) if conversations else None
                if earlier is not None and rng.random() < 1 / 3:
                    kind = "follow-up"  # the same partner, on the next worker
                    worker, partner, conversation = earlier
                    body = {"question": rng.choice(FOLLOW_UPS), "conversation_id": conversation}
                    answered = callers.post(client, "/v1/chat", worker + 1, partner, body)
                else:
                    body = {"question": QUESTIONS[i % len(QUESTIONS)]}
                    answered = callers.post(client, "/v1/chat", i, i % 20, body)
                    if answered.status_code == 200:
                        with lock:
                            conversations.append((i, i % 20, answered.json()["conversation_id"]))
                            del conversations[:-200]
            status = str(answered.status_code)
        except httpx.HTTPError as exc:
            status = type(exc).__name__
        with lock:
            statuses[kind][status] += 1
            latencies[kind].append(time.perf_counter() - started)

    with httpx.Client(timeout=120) as client, ThreadPoolExecutor(16) as pool:
        for i in range(8):  # warm-up: every worker answers both kinds once or twice
            one(client, i)
        first = snapshot(topology, peers, database)
        samples = [first]
        interval, started = 1 / args.rate, time.monotonic()
        end, next_sample = started + args.minutes * 60, started + 60
        for i in itertools.count(8):
            due = started + (i - 8) * interval
            if due >= end:
                break
            time.sleep(max(0.0, due - time.monotonic()))
            pool.submit(one, client, i)
            if time.monotonic() >= next_sample:
                samples.append(snapshot(topology, peers, database))
                next_sample += 60
        pool.shutdown(wait=True)
        last = snapshot(topology, peers, database)
    minutes = (last["t"] - first["t"]) / 60
    print(f"soak: {minutes:.1f} min at {args.rate} req/s, search share {args.search_share}")
    for kind in sorted(statuses):
        ordered = sorted(latencies[kind])
        p95 = ordered[max(0, int(len(ordered) * 0.95) - 1)]
        print(
            f"  {kind:10s} {dict(statuses[kind])}  p50 {statistics.median(ordered) * 1000:.0f} ms"
            f"  p95 {p95 * 1000:.0f} ms"
        )
    cpu = [b["cpu_s"] - a["cpu_s"] for a, b in zip(first["workers"], last["workers"])]
    answered = sum(c.get("200", 0) for c in statuses.values())
    print(
        f"  workers' CPU {' + '.join(f'{c:.0f}' for c in cpu)} s over {minutes:.1f} min "
        f"({sum(cpu) / answered:.2f} s per answered request)"
    )
    show_snapshot("after warm-up", first)
    show_snapshot("end", last)
    for n in range(len(topology.api)):
        rss = [s["workers"][n]["rss_mb"] for s in samples + [last]]
        fds = [s["workers"][n]["fds"] for s in samples + [last]]
        print(
            f"  worker{n} per minute: RSS {' '.join(f'{r:.0f}' for r in rss)} MB; "
            f"fds {' '.join(map(str, fds))}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--phase", choices=["load", "soak", "both"], default="both")
    parser.add_argument("--kb", type=Path, default=ROOT / "data")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--requests", type=int, default=100)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--max-seconds", type=float, default=300.0)
    parser.add_argument("--retries", type=int, default=5, help="per chat, after a 503 or 429")
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--rate", type=float, default=2.0, help="soak requests per second")
    parser.add_argument("--search-share", type=float, default=0.5)
    parser.add_argument("--model-delay", type=float, default=1.0)
    parser.add_argument("--rate-limit", default="600/minute", help="PA_API_RATE_LIMIT")
    args = parser.parse_args()

    secret = os.urandom(24).hex()
    with (
        topology_script.scratch_database() as database,
        topology_script.scratch_prefix() as prefix,
        FakeOpenAIServer(reply=reply, delay=args.model_delay) as model,
        tempfile.TemporaryDirectory(prefix="pa-topology-load-") as tmp,
    ):
        env = {
            "PA_DB_URL": database,
            "PA_API_SHARED_STATE_URL": topology_script.REDIS,
            "PA_API_SHARED_STATE_PREFIX": prefix,
            "PA_API_RATE_LIMIT": args.rate_limit,
            "PA_AUTH_JWT_SECRET": secret,
            "PA_LLM_PROVIDER": "openai",
            "PA_LLM_BASE_URL": model.base_url,
            "PA_LLM_API_KEY": "sk-bench",
        }
        topology = topology_script.Topology(Path(tmp), env, workers=args.workers)
        with topology:
            began = time.perf_counter()
            topology.start(args.kb)
            print(f"topology up in {time.perf_counter() - began:.0f} s: {topology.urls}")
            peers = {
                topology.chroma_port: "chroma",
                5432: "postgres",
                6379: "redis",
                int(model.base_url.split(":")[-1].split("/")[0]): "llm",
            }
            callers = Callers(secret, topology.urls, partners=max(args.concurrency, 20))
            show_snapshot("started", snapshot(topology, peers, database))
            if args.phase in ("load", "both"):
                load(topology, callers, args)
                show_snapshot("after load", snapshot(topology, peers, database))
            if args.phase in ("soak", "both"):
                soak(topology, callers, args, peers, database)
    print(f"cpu cores: {os.cpu_count()}  load average: {os.getloadavg()}")


if __name__ == "__main__":
    main()
