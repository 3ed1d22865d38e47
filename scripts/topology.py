"""The scale-out topology on one machine: a `chroma run` server, PostgreSQL, Redis, an ingest
job and several API workers, each a separate process with its own local folder, sharing only
what a real deployment shares (the Chroma server, the database, Redis, the metrics folder).

    .venv/bin/python scripts/topology.py up --kb data --workers 2     # Ctrl-C stops it all
    .venv/bin/python scripts/topology.py up --kb data --llm-base-url http://gpu-box:8000/v1

PostgreSQL and Redis are not started here: they are services of the machine (CI and the dev
box run them on 127.0.0.1). ``up`` uses a scratch database and Redis key prefix there, removed
on exit, unless ``--db-url``/``--redis-url`` say otherwise. Without ``--llm-base-url`` every
worker loads the local reader (about 1.3 GB each). `tests/api/test_topology.py` starts the same
topology through :class:`Topology` and checks that a conversation started on one worker
continues on the other, that rate limits hold across both, that an ingest is seen by both and
that either worker's /metrics counts the requests of both; `benchmarks/topology_load.py` loads
it. `compose.yaml` describes the same topology for operators.

Every process runs this checkout's code (``python -m api`` from the repository root), whatever
copy of the package the virtual environment has installed.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import httpx

ROOT = Path(__file__).resolve().parents[1]
CLI = [sys.executable, "-m", "api"]
CHROMA = Path(sys.executable).with_name("chroma")
POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432"
REDIS = "redis://127.0.0.1:6379/0"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def tail(path: Path, lines: int = 40) -> str:
    """The end of a process's log, for a failure message."""
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def wait_for(url: str, process: subprocess.Popen, what: str, log: Path, timeout: float) -> None:
    """Poll ``url`` until it answers 200; fail with the process's log if it exits first or
    never gets there."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(
                f"{what} exited with {process.returncode} before it was ready:\n{tail(log)}"
            )
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url, timeout=2).status_code == 200:
                return
        time.sleep(0.3)
    raise RuntimeError(f"{what} was not ready at {url} after {timeout:.0f}s:\n{tail(log)}")


@contextlib.contextmanager
def scratch_database(server: str = POSTGRES) -> Iterator[str]:
    """The URL of a new, uniquely named database on ``server`` (a PostgreSQL URL without the
    database name), dropped afterwards with whatever connections are still open to it."""
    from sqlalchemy import create_engine, text

    admin = create_engine(f"{server}/postgres", isolation_level="AUTOCOMMIT")
    name = f"pa_topology_{uuid.uuid4().hex[:12]}"
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        yield f"{server}/{name}"
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@contextlib.contextmanager
def scratch_prefix(url: str = REDIS) -> Iterator[str]:
    """A Redis key prefix of its own (``PA_API_SHARED_STATE_PREFIX``); its keys are deleted
    afterwards."""
    import redis

    prefix = f"pa-topology-{uuid.uuid4().hex[:12]}"
    try:
        yield prefix
    finally:
        client = redis.Redis.from_url(url)
        keys = list(client.scan_iter(f"{prefix}*"))
        if keys:
            client.delete(*keys)
        client.close()


@dataclass
class Worker:
    """One API worker process and where it listens."""

    process: subprocess.Popen
    port: int
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        return self.process.pid


@dataclass
class Topology:
    """One Chroma server, ``workers`` API processes and ingest jobs, on loopback.

    ``env`` holds the settings every process shares (``PA_*``: the database URL, Redis, the
    secrets, the chat model); each process also gets its own store folder (the lexical index
    and embedding cache are local per worker, as on separate machines). The workers share
    ``workdir/metrics`` as ``PROMETHEUS_MULTIPROC_DIR`` (new and empty at each start), so any
    worker's ``/metrics`` reports all of them. Logs are ``workdir/<process>.log``.
    """

    workdir: Path
    env: Mapping[str, str]
    workers: int = 2
    start_timeout: float = 180.0
    chroma_port: int = field(default_factory=free_port)
    api: list[Worker] = field(default_factory=list)
    processes: list[subprocess.Popen] = field(default_factory=list)
    _logs: list[IO[bytes]] = field(default_factory=list)

    @property
    def metrics_dir(self) -> Path:
        return self.workdir / "metrics"

    @property
    def urls(self) -> list[str]:
        return [worker.url for worker in self.api]

    def process_env(self, name: str) -> dict[str, str]:
        folder = self.workdir / name
        folder.mkdir(parents=True, exist_ok=True)
        return {
            # glibc keeps freed memory in one arena per thread; with a worker's request threads
            # that held ~1.1 GB after 12 concurrent chats instead of ~0.7 GB with two arenas
            # (benchmarks/README.md, "Scale-out topology"). The environment may override it.
            "MALLOC_ARENA_MAX": "2",
            **os.environ,
            "HF_HUB_OFFLINE": "1",
            "TRANSFORMERS_OFFLINE": "1",
            "TOKENIZERS_PARALLELISM": "false",
            **self.env,
            "PA_CHROMA_HOST": "127.0.0.1",
            "PA_CHROMA_PORT": str(self.chroma_port),
            "PA_STORE_DIR": str(folder / "store"),
        }

    def _spawn(self, name: str, args: list[str], env: Mapping[str, str] | None = None):
        log = self.workdir / f"{name}.log"
        handle = log.open("ab")
        self._logs.append(handle)
        process = subprocess.Popen(args, cwd=ROOT, env=env, stdout=handle, stderr=subprocess.STDOUT)
        self.processes.append(process)
        return process, log

    def start_chroma(self) -> None:
        process, log = self._spawn(
            "chroma",
            [str(CHROMA), "run", "--path", str(self.workdir / "chroma")]
            + ["--host", "127.0.0.1", "--port", str(self.chroma_port)],
        )
        url = f"http://127.0.0.1:{self.chroma_port}/api/v2/heartbeat"
        wait_for(url, process, "chroma run", log, self.start_timeout)

    def ingest(self, kb: Path, sync: bool = True) -> subprocess.CompletedProcess:
        """The ingest job: its own process, writing to the shared Chroma server."""
        args = [*CLI, "ingest", str(Path(kb).resolve())] + (["--sync"] if sync else [])
        return subprocess.run(
            args,
            cwd=ROOT,
            env=self.process_env("ingest"),
            capture_output=True,
            text=True,
            timeout=1800,
        )

    def start_workers(self) -> None:
        shutil.rmtree(self.metrics_dir, ignore_errors=True)
        self.metrics_dir.mkdir(parents=True)
        for n in range(self.workers):
            port = free_port()
            env = self.process_env(f"worker{n}") | {
                "PROMETHEUS_MULTIPROC_DIR": str(self.metrics_dir)
            }
            args = [*CLI, "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", "1"]
            process, log = self._spawn(f"worker{n}", args, env)
            self.api.append(Worker(process, port, log))
        for n, worker in enumerate(self.api):
            what = f"worker {n}"
            wait_for(f"{worker.url}/readyz", worker.process, what, worker.log, self.start_timeout)

    def start(self, kb: Path) -> None:
        self.start_chroma()
        done = self.ingest(kb)
        if done.returncode != 0:
            raise RuntimeError(f"ingest failed:\n{done.stdout}\n{done.stderr}")
        self.start_workers()

    def stop(self) -> None:
        """SIGTERM to every process (uvicorn finishes the requests it has), then wait."""
        for process in reversed(self.processes):
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in reversed(self.processes):
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
        self.processes.clear()
        self.api.clear()
        for handle in self._logs:
            handle.close()
        self._logs.clear()

    def __enter__(self) -> Topology:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    up = sub.add_parser("up", help="start the topology and keep it running until Ctrl-C")
    up.add_argument("--kb", type=Path, default=ROOT / "data")
    up.add_argument("--workers", type=int, default=2)
    up.add_argument(
        "--db-url",
        default=None,
        help="the record store (default: a scratch database on the "
        "local PostgreSQL, dropped on exit)",
    )
    up.add_argument("--redis-url", default=REDIS)
    up.add_argument("--llm-base-url", default=None, help="an OpenAI-compatible server")
    args = parser.parse_args()
    with contextlib.ExitStack() as stack:
        database = args.db_url or stack.enter_context(scratch_database())
        env = {
            "PA_DB_URL": database,
            "PA_API_SHARED_STATE_URL": args.redis_url,
            "PA_API_SHARED_STATE_PREFIX": stack.enter_context(scratch_prefix(args.redis_url)),
            "PA_AUTH_JWT_SECRET": os.environ.get(
                "PA_AUTH_JWT_SECRET", "change-me-" + os.urandom(16).hex()
            ),
        }
        if args.llm_base_url:
            env |= {"PA_LLM_PROVIDER": "openai", "PA_LLM_BASE_URL": args.llm_base_url}
        tmp = stack.enter_context(tempfile.TemporaryDirectory(prefix="pa-topology-"))
        topology = stack.enter_context(Topology(Path(tmp), env, workers=args.workers))
        topology.start(args.kb)
        print("chroma:", f"http://127.0.0.1:{topology.chroma_port}")
        for worker in topology.api:
            print("worker:", worker.url, "pid", worker.pid)
        print("database:", database)
        print("logs:", tmp)
        with contextlib.suppress(KeyboardInterrupt):
            signal.pause()


if __name__ == "__main__":
    main()
