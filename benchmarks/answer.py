"""Time to first token and total answer time, p50/p95, on the golden questions.

Runs the real service over the sample corpus twice in the same process: with the local SmolLM2
model (the default product path: generate, verify, fall back) and extractive-only
(``use_model=False``) as the baseline, and prints both with their ratio. No assertions.

    python benchmarks/answer.py [--limit 20] [--store DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from collections import Counter
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from assistant.models import CallerContext, Question  # noqa: E402
from assistant.service import build_service  # noqa: E402
from assistant.settings import DbSettings, Settings, StoreSettings  # noqa: E402

REPO = Path(__file__).resolve().parents[1]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def run(service, items, use_model: bool) -> dict:
    first, total, paths = [], [], Counter()
    for item in items:
        caller = CallerContext.from_item(item)
        started = time.perf_counter()
        ttft = None
        for event in service.stream_answer(
            Question(text=item["question"], caller=caller), use_model=use_model
        ):
            if ttft is None and event.event in ("token", "final"):
                ttft = time.perf_counter() - started
            if event.event == "final":
                paths[event.data["path"]] += 1
        total.append(time.perf_counter() - started)
        first.append(ttft or total[-1])
    return {
        "ttft_p50": statistics.median(first),
        "ttft_p95": percentile(first, 0.95),
        "total_p50": statistics.median(total),
        "total_p95": percentile(total, 0.95),
        "paths": dict(paths),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--limit", type=int, default=20)
    parser.add_argument("--store", type=Path, default=None)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="pa-bench-"))
    store = args.store or folder / "store"
    settings = Settings(
        store=StoreSettings(dir=store), db=DbSettings(url=f"sqlite:///{folder / 'app.db'}")
    )
    service = build_service(settings)
    service.kb.ingest([REPO / "data"], sync=True)
    lines = (REPO / "evals" / "datasets" / "retrieval_golden.jsonl").read_text().splitlines()
    items = [json.loads(line) for line in lines if line.strip()][: args.limit]
    load_started = time.perf_counter()
    service.chat_model.generate(
        [{"role": "user", "content": "Hi"}], max_tokens=1
    )  # load once, not timed per answer
    print(f"local model load: {time.perf_counter() - load_started:.1f}s ({len(items)} questions)")
    baseline = run(service, items, use_model=False)
    local = run(service, items, use_model=True)
    print(f"{'path':<22}{'TTFT p50':>10}{'TTFT p95':>10}{'total p50':>11}{'total p95':>11}  paths")
    for name, r in (("extractive only", baseline), ("local SmolLM2 + verify", local)):
        print(
            f"{name:<22}{r['ttft_p50']:>9.2f}s{r['ttft_p95']:>9.2f}s{r['total_p50']:>10.2f}s{r['total_p95']:>10.2f}s  {r['paths']}"
        )
    print(f"ratio local/extractive total p50: {local['total_p50'] / baseline['total_p50']:.1f}x")


if __name__ == "__main__":
    main()
