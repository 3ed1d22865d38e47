"""Manager insights on a synthetic log of 10,000 questions: how long each step takes.

The log is the worst case for the clustering window: every one of the ``--questions`` questions
is a gap (abstained or rated down), all distinct, from callers of every tier, region and
language, written into an in-memory sqlite `RecordStore`. The knowledge base is the sample
corpus (``data/``, ingested into a temporary folder, or ``--store`` to reuse one). It prints the
seconds for reading the window, embedding the questions with the product's embedding model
(a first run embeds all of them; a second run finds their vectors kept in the record store),
clustering them (:func:`assistant.insights.cluster`) and classifying the top topics, and, as a
baseline measured in the same process, scikit-learn's average-link agglomerative clustering
(cosine, same threshold) next to ours on a subsample both can hold in memory.

    .venv/bin/python benchmarks/insights.py                      # 10,000 questions
    .venv/bin/python benchmarks/insights.py --questions 2000 --baseline 1000
"""

from __future__ import annotations

import argparse
import os
import random
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import psutil  # noqa: E402

from assistant.insights import cluster, gap_topics, question_vectors  # noqa: E402
from assistant.models import Answer, CallerContext  # noqa: E402
from assistant.settings import DbSettings, Settings, StoreSettings  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
SUBJECTS = [
    "deal registration",
    "the Diamond partner tier",
    "MDF claims",
    "the Platinum Innovation Fund",
    "Vault licensing",
    "Guard endpoint limits",
    "certification exams",
    "rebate payouts",
    "the partner portal login",
    "co-marketing approvals",
    "Flow Edge 200 warranty",
    "renewal discounts",
    "not-for-resale licenses",
    "demo equipment",
    "training vouchers",
    "competitive displacement offers",
    "support escalations",
    "distributor pricing",
    "the incentive calculator",
    "quarterly business reviews",
]
FRAMES = [
    "How do I handle {s} for customer {n}?",
    "What are the rules for {s} in {r}?",
    "Who approves {s} above {k} USD?",
    "When does {s} change for {t} partners?",
    "Is there a limit on {s} for deal {n}?",
    "Can a {t} partner in {r} get {s}?",
    "Why was my request about {s} rejected (case {n})?",
    "Where do I find the form for {s}?",
]
GERMAN = [
    "Wie funktioniert {s} für Kunde {n}?",
    "Wer genehmigt {s} über {k} USD?",
]
TIERS = ["registered", "silver", "gold", "platinum"]
REGIONS = ["na", "emea", "apac", "latam"]


def synthetic_log(records, count: int, seed: int = 7) -> None:
    rng = random.Random(seed)
    seen: set[str] = set()
    conversations: dict[tuple, str] = {}
    while len(seen) < count:
        german = rng.random() < 0.1
        frame = rng.choice(GERMAN if german else FRAMES)
        text = frame.format(
            s=rng.choice(SUBJECTS),
            n=rng.randint(1000, 99999),
            r=rng.choice(REGIONS).upper(),
            k=rng.choice([5000, 10000, 25000, 50000]),
            t=rng.choice(TIERS),
        )
        if text in seen:
            continue
        seen.add(text)
        caller = CallerContext(
            role="partner",
            tier=rng.choice(TIERS),
            region=rng.choice(REGIONS),
            language="de" if german else "en",
            partner_id=f"p{rng.randint(1, 400)}",
        )
        key = (caller.partner_id, caller.tier, caller.region, caller.language)
        if key not in conversations:
            conversations[key] = records.start_conversation(caller)
        abstained = rng.random() < 0.7
        saved = records.save_answer(
            conversations[key],
            text,
            Answer(answer="-", path="abstained" if abstained else "extractive"),
        )
        if not abstained:
            records.add_feedback(saved.answer_id, "down", "")


def rss_mb() -> float:
    return psutil.Process().memory_info().rss / 2**20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--questions", type=int, default=10_000)
    parser.add_argument("--baseline", type=int, default=2_000, help="subsample for sklearn")
    parser.add_argument("--store", type=Path, help="an ingested sample store to reuse")
    args = parser.parse_args()

    from assistant.llm import ScriptedChatModel
    from assistant.records import RecordStore
    from assistant.service import build_service
    from retrieval.knowledge_base import KnowledgeBase

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        settings = Settings(
            store=StoreSettings(dir=args.store or folder / "store"),
            db=DbSettings(url=f"sqlite:///{folder / 'app.db'}"),
        )
        kb = KnowledgeBase(settings)
        if args.store is None:
            started = time.perf_counter()
            kb.ingest([REPO / "data"], sync=True)
            print(f"ingest sample corpus: {time.perf_counter() - started:.1f} s")
        # In memory: writing 10,000 answers one transaction at a time to a file on a shared
        # disk takes many minutes and is not what is measured here.
        records = RecordStore("sqlite://")
        started = time.perf_counter()
        synthetic_log(records, args.questions)
        print(f"write {args.questions} synthetic questions: {time.perf_counter() - started:.1f} s")
        service = build_service(
            settings, chat_model=ScriptedChatModel(lambda m: "-"), kb=kb, records=records
        )
        kb.embedder.embed_documents(["warm up"])

        started = time.perf_counter()
        log = records.question_log(limit=settings.insights.window)
        read_s = time.perf_counter() - started
        gaps = [q for q in log if q.path == "abstained" or q.rating == "down"]
        print(f"questions in window: {len(log)}, gap questions: {len(gaps)}")
        print(f"read window:      {read_s:7.2f} s")
        for run in ("first run (embeds every question)", "second run (vectors kept)"):
            timings: dict[str, float] = {}
            started = time.perf_counter()
            topics = gap_topics(service, gaps, kb.embedder.embed_documents, timings)
            total_s = time.perf_counter() - started
            print(run)
            print(f"  embed questions:  {timings['embed_s']:7.2f} s")
            print(
                f"  cluster:          {timings['cluster_s']:7.2f} s  -> {len(topics)} topics shown"
            )
            print(f"  classify topics:  {timings['classify_s']:7.2f} s")
            print(f"  gap topics total: {total_s:7.2f} s   (RSS {rss_mb():.0f} MB)")
        kinds: dict[str, int] = {}
        for t in topics:
            kinds[t.kind] = kinds.get(t.kind, 0) + 1
        print(f"kinds of the top topics: {kinds}")
        for t in topics[:5]:
            print(f"  {t.size:5d}  {t.kind:18s}  {t.name[:70]}")

        texts = sorted({q.question for q in gaps})
        sample = texts[: args.baseline]
        vectors = question_vectors(service, sample, kb.embedder.embed_documents)
        threshold = settings.insights.cluster_similarity
        started = time.perf_counter()
        ours, _ = cluster(vectors, threshold)
        ours_s = time.perf_counter() - started
        from sklearn.cluster import AgglomerativeClustering

        started = time.perf_counter()
        baseline = AgglomerativeClustering(
            n_clusters=None,
            metric="cosine",
            linkage="average",
            distance_threshold=1 - threshold,
        ).fit(vectors)
        base_s = time.perf_counter() - started
        print(
            f"baseline on {len(sample)} questions: ours {ours_s:.3f} s ({len(ours)} groups), "
            f"sklearn average-link {base_s:.3f} s ({baseline.n_clusters_} groups)"
        )


if __name__ == "__main__":
    main()
