"""Time to first token and total answer time, p50/p95, on the golden questions.

Runs the real service over the sample corpus in one process, three ways: extractive only
(``use_model=False``, the baseline), the SmolLM2 path (``PA_LLM_PROVIDER=smollm2``, the previous
default) and the default reader (Qwen2.5 1.5B through llama.cpp). Prints time to the first
progress event, to the first verified words, total time, p50/p95, and the cost split (retrieve,
evidence, time to the reader's first token, reading). No assertions.

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
    first, total, paths, progress = [], [], Counter(), []
    split: dict[str, list[float]] = {}
    for item in items:
        caller = CallerContext.from_item(item)
        started = time.perf_counter()
        ttft = None
        for event in service.stream_answer(
            Question(text=item["question"], caller=caller), use_model=use_model
        ):
            if event.event == "progress" and len(progress) < len(total) + 1:
                progress.append(time.perf_counter() - started)
            if ttft is None and event.event in ("token", "final"):
                ttft = time.perf_counter() - started
            if event.event == "final":
                paths[event.data["path"]] += 1
                for key, value in event.data["timings"].items():
                    split.setdefault(key, []).append(value / 1000)
        total.append(time.perf_counter() - started)
        first.append(ttft or total[-1])
    return {
        "ttft_p50": statistics.median(first),
        "ttft_p95": percentile(first, 0.95),
        "total_p50": statistics.median(total),
        "total_p95": percentile(total, 0.95),
        "paths": dict(paths),
        "progress_p50": statistics.median(progress) if progress else float("nan"),
        "split_p50": {k: round(statistics.median(v), 2) for k, v in split.items()},
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
    from assistant.llm import build_chat_model

    service = build_service(settings)
    service.kb.ingest([REPO / "data"], sync=True)
    lines = (REPO / "evals" / "datasets" / "retrieval_golden.jsonl").read_text().splitlines()
    items = [json.loads(line) for line in lines if line.strip()][: args.limit]
    rows = [("extractive only", run(service, items, use_model=False))]
    for name, provider in (("SmolLM2 + verify", "smollm2"), ("reader (Qwen) + verify", "local")):
        model = build_chat_model(settings.llm.model_copy(update={"provider": provider}))
        started = time.perf_counter()
        model.warm_up()  # loaded once, not timed per answer
        print(f"{name}: model load {time.perf_counter() - started:.1f}s, {len(items)} questions")
        reader = build_service(settings, chat_model=model, kb=service.kb)
        rows.append((name, run(reader, items, use_model=True)))
    print(
        f"{'path':<24}{'progress':>9}{'TTFT p50':>10}{'TTFT p95':>10}{'total p50':>11}{'total p95':>11}  paths"
    )
    for name, r in rows:
        print(
            f"{name:<24}{r['progress_p50']:>8.2f}s{r['ttft_p50']:>9.2f}s{r['ttft_p95']:>9.2f}s"
            f"{r['total_p50']:>10.2f}s{r['total_p95']:>10.2f}s  {r['paths']}"
        )
        print(f"{'':<24}cost split p50 (s): {r['split_p50']}")


if __name__ == "__main__":
    main()
