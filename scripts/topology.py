"""The scale-out topology on one machine: a `chroma run` server, PostgreSQL, Redis, an ingest
job and several API workers, each a separate process with its own local folder, sharing only
what a real deployment shares (the Chroma server, the database, Redis).

    .venv/bin/python scripts/topology.py up --kb data --workers 2     # Ctrl-C stops it all
    .venv/bin/python scripts/topology.py up --kb data --llm-base-url http://gpu-box:8000/v1

PostgreSQL and Redis are not started here: they are services of the machine (CI and the dev
box run them on 127.0.0.1); pass their URLs. `tests/api/test_topology.py` starts the same
topology through :class:`Topology` and checks that a conversation started on one worker
continues on the other, that rate limits hold across both, and that an ingest is seen by
both. `compose.yaml` describes the same topology for operators.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import httpx

BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(url: str, process: subprocess.Popen, what: str, timeout: float = 180) -> None:
    """Poll ``url`` until it answers 200; fail with the process's output if it exits first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited with {process.returncode} before it was ready")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"{what} was not ready at {url} after {timeout:.0f}s")


@dataclass
class Topology:
    """One Chroma server, ``workers`` API processes and an ingest job, on loopback.

    ``env`` holds the settings every process shares (``PA_*``: the database URL, Redis, the
    secrets, the chat model); each worker also gets its own store folder (lexical index and
    embedding cache are local per worker, as on separate machines)."""

    workdir: Path
    env: Mapping[str, str]
    workers: int = 2
    chroma_port: int = field(default_factory=free_port)
    worker_ports: list[int] = field(default_factory=list)
    processes: list[subprocess.Popen] = field(default_factory=list)

    def process_env(self, name: str) -> dict[str, str]:
        folder = self.workdir / name
        folder.mkdir(parents=True, exist_ok=True)
        return {
            **os.environ,
            "HF_HUB_OFFLINE": "1",
            "TRANSFORMERS_OFFLINE": "1",
            "TOKENIZERS_PARALLELISM": "false",
            **self.env,
            "PA_CHROMA_HOST": "127.0.0.1",
            "PA_CHROMA_PORT": str(self.chroma_port),
            "PA_STORE_DIR": str(folder / "store"),
        }

    @property
    def urls(self) -> list[str]:
        return [f"http://127.0.0.1:{port}" for port in self.worker_ports]

    def start_chroma(self) -> None:
        process = subprocess.Popen(
            [str(BIN / "chroma"), "run", "--path", str(self.workdir / "chroma")]
            + ["--host", "127.0.0.1", "--port", str(self.chroma_port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.processes.append(process)
        wait_for(f"http://127.0.0.1:{self.chroma_port}/api/v2/heartbeat", process, "chroma run")

    def ingest(self, kb: Path, sync: bool = True) -> subprocess.CompletedProcess:
        """The ingest job: its own process, writing to the shared Chroma server."""
        args = [str(BIN / "partner-assistant"), "ingest", str(kb)] + (["--sync"] if sync else [])
        return subprocess.run(
            args, env=self.process_env("ingest"), capture_output=True, text=True, timeout=1800
        )

    def start_workers(self) -> None:
        for n in range(self.workers):
            port = free_port()
            log = (self.workdir / f"worker{n}.log").open("wb")
            process = subprocess.Popen(
                [str(BIN / "partner-assistant"), "serve", "--host", "127.0.0.1"]
                + ["--port", str(port), "--workers", "1"],
                env=self.process_env(f"worker{n}"),
                stdout=log,
                stderr=subprocess.STDOUT,
            )
            self.processes.append(process)
            self.worker_ports.append(port)
        for n, (port, process) in enumerate(
            zip(self.worker_ports, self.processes[-self.workers :])
        ):
            wait_for(f"http://127.0.0.1:{port}/readyz", process, f"worker {n}")

    def start(self, kb: Path) -> None:
        self.start_chroma()
        done = self.ingest(kb)
        if done.returncode != 0:
            raise RuntimeError(f"ingest failed:\n{done.stdout}\n{done.stderr}")
        self.start_workers()

    def stop(self) -> None:
        for process in reversed(self.processes):
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
        self.processes.clear()

    def __enter__(self) -> Topology:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    up = sub.add_parser("up", help="start the topology and keep it running until Ctrl-C")
    up.add_argument("--kb", type=Path, default=Path("data"))
    up.add_argument("--workers", type=int, default=2)
    up.add_argument("--db-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    up.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    up.add_argument("--llm-base-url", default=None, help="an OpenAI-compatible server")
    args = parser.parse_args()
    env = {
        "PA_DB_URL": args.db_url,
        "PA_API_SHARED_STATE_URL": args.redis_url,
        "PA_AUTH_JWT_SECRET": os.environ.get(
            "PA_AUTH_JWT_SECRET", "change-me-" + os.urandom(8).hex()
        ),
    }
    if args.llm_base_url:
        env |= {"PA_LLM_PROVIDER": "openai", "PA_LLM_BASE_URL": args.llm_base_url}
    with (
        tempfile.TemporaryDirectory(prefix="pa-topology-") as tmp,
        Topology(Path(tmp), env, workers=args.workers) as topology,
    ):
        topology.start(args.kb)
        print("chroma:", f"http://127.0.0.1:{topology.chroma_port}")
        for url in topology.urls:
            print("worker:", url)
        with contextlib.suppress(KeyboardInterrupt):
            signal.pause()


if __name__ == "__main__":
    main()
