"""How long the local SmolLM2 takes to load, and how fast it generates, on this machine.

Prints, all measured in this run:

- first load: de-quantize the packaged .gguf and save the cache (what a fresh install pays once);
- cached load: a new process loading that cache (what every later start pays); the first load is
  its baseline;
- generation: tokens/s for ``--tokens`` new tokens with ``generate`` and with ``stream``
  (median of ``--repeat`` alternated runs).

Usage::

    HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/llm_load.py [--tokens 100] [--threads 2]

The cache goes to a temporary folder (deleted afterwards) unless ``--cache-dir`` is given.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from assistant.llm import SmolLM2ChatModel
from assistant.settings import LLMSettings

PROMPT = [{"role": "user", "content": "Write a long, detailed story about a software reseller."}]

CACHED_LOAD = """
import sys, time
from pathlib import Path
from assistant.llm import SmolLM2ChatModel
from assistant.settings import LLMSettings
start = time.perf_counter()
import torch  # noqa: F401  (imported on first load; timed apart from the load itself)
from transformers import AutoModelForCausalLM  # noqa: F401
imported = time.perf_counter()
SmolLM2ChatModel(LLMSettings(cache_dir=Path(sys.argv[1]))).load()
print(imported - start, time.perf_counter() - imported)
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tokens", type=int, default=100)
    parser.add_argument("--threads", type=int, default=None, help="torch threads")
    parser.add_argument("--repeat", type=int, default=3, help="generation runs (median shown)")
    parser.add_argument("--cache-dir", type=Path, default=None)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="llm-bench-") as tmp:
        cache_dir = args.cache_dir or Path(tmp)
        if args.threads:
            import torch

            torch.set_num_threads(args.threads)
        settings = LLMSettings(cache_dir=cache_dir, max_tokens=args.tokens)
        model = SmolLM2ChatModel(settings)
        start = time.perf_counter()
        loaded = model.load()
        first_load = time.perf_counter() - start

        child = subprocess.run(
            [sys.executable, "-c", CACHED_LOAD, str(cache_dir)],
            capture_output=True,
            text=True,
            check=True,
        )
        import_s, cached_load = map(float, child.stdout.strip().splitlines()[-1].split())

        model.generate(PROMPT, max_tokens=5)  # warm-up
        generate_runs, stream_runs = [], []
        for _ in range(args.repeat):  # alternated, so load from other users hits both alike
            start = time.perf_counter()
            text = model.generate(PROMPT)
            generate_runs.append(time.perf_counter() - start)
            start = time.perf_counter()
            streamed = "".join(model.stream(PROMPT))
            stream_runs.append(time.perf_counter() - start)
        n_tokens = len(loaded.tokenizer(text, add_special_tokens=False)["input_ids"])
        generate_s, stream_s = statistics.median(generate_runs), statistics.median(stream_runs)

    print(f"first load (de-quantize + save): {first_load:6.1f} s")
    print(f"cached load (new process):       {cached_load:6.1f} s  (+ {import_s:.1f} s to import)")
    print(
        f"generate: {n_tokens} tokens in {generate_s:.2f} s = {n_tokens / generate_s:.1f} tokens/s"
    )
    print(f"stream:   {n_tokens} tokens in {stream_s:.2f} s = {n_tokens / stream_s:.1f} tokens/s")
    print(f"stream joins to generate: {streamed == text}")


if __name__ == "__main__":
    main()
