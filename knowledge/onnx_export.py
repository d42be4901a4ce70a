"""Export a local sentence-transformers model to ONNX, once, so serving processes never import torch.

Run as its own process (`python -m knowledge.onnx_export MODEL_DIR OUT.onnx`): the export needs torch,
transformers and sentence-transformers (about 600 MB resident), and the process that asked for it — a bot,
a CLI command — must not carry them afterwards. `knowledge.embedding` starts it when the exported file is
missing, under a file lock, and uses the file only once it exists. The arrow points one way: this module uses
the embedding module's `OnnxEncoder` and `check_architecture`; the embedding module only runs this one as a
process, by name.

The graph is the whole encoder as sentence-transformers runs it: the transformer, mean pooling over the
attention mask and L2 normalisation, with dynamic batch and sequence axes (tokenisation stays outside, in
the `tokenizers` library). Before the file is published, its output is compared with sentence-transformers'
own `encode` on the curriculum's texts (many lengths in one batch, so padding is exercised, and texts
longer than the model's 256 tokens, so truncation is): any cosine below 1 - 1e-4 fails the export, and the
caller falls back to sentence-transformers. Vectors already stored stay valid either way.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

TOLERANCE = 1e-4
"""Largest allowed 1 - cosine between an exported embedding and sentence-transformers' own."""
OPSET = 17


def sample_texts(limit: int = 200) -> list[str]:
    """Paragraphs of the bundled curriculum (headings, prose, code, tables), plus a few texts longer than
    the model's window and the empty string: what the exported model must embed exactly as before."""
    from knowledge import content_dir

    texts: list[str] = []
    for file in sorted(content_dir().rglob("*.md")):
        body = file.read_text(encoding="utf-8")
        texts.extend(p.strip() for p in body.split("\n\n") if p.strip())
        texts.append(body)  # whole pages: longer than 256 tokens, so truncated
    texts = texts[:limit]
    texts += ["", "SMOTE", "what does SMOTE actually do?", "great on train, bad on test"]
    return texts


def _load(model_dir: Path):  # type: ignore[no-untyped-def]
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    from sentence_transformers import SentenceTransformer
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    hf_logging.set_verbosity_error()
    return SentenceTransformer(str(model_dir), device="cpu")


def export(model_dir: Path, out: Path) -> float:
    """Writes `out` (atomically) and returns the largest 1 - cosine found by the check."""
    from knowledge.embedding import OnnxEncoder, check_architecture

    check_architecture(model_dir)
    import numpy as np
    import torch

    st = _load(model_dir)
    encoder = st[0].auto_model.eval()

    class Encoder(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.encoder = encoder

        def forward(self, input_ids, attention_mask, token_type_ids):  # type: ignore[no-untyped-def]
            hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask,
                                  token_type_ids=token_type_ids).last_hidden_state
            weights = attention_mask.unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * weights).sum(1) / weights.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(pooled, p=2.0, dim=1)

    example = torch.ones((2, 8), dtype=torch.long)
    axes = {"batch": 0, "tokens": 1}
    dynamic = {name: {i: n for n, i in axes.items()} for name in ("input_ids", "attention_mask", "token_type_ids")}
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=out.name + ".", suffix=".tmp", dir=out.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        import warnings

        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(Encoder(), (example, example, torch.zeros_like(example)), str(tmp), dynamo=False,
                              input_names=["input_ids", "attention_mask", "token_type_ids"],
                              output_names=["embedding"], dynamic_axes={**dynamic, "embedding": {0: "batch"}},
                              opset_version=OPSET, do_constant_folding=True)
        texts = sample_texts()
        reference = st.encode(texts, batch_size=32, normalize_embeddings=True, convert_to_numpy=True)
        exported = OnnxEncoder(model_dir, tmp, threads=0).encode(texts, batch_size=32)
        worst = float(1.0 - np.min(np.sum(reference * exported, axis=1)))
        if not worst <= TOLERANCE:
            raise RuntimeError(f"the exported model differs from sentence-transformers (1 - cosine = {worst:.2e})")
        tmp.chmod(0o644)  # mkstemp makes it private; other users of the cache (a container's) read it
        os.replace(tmp, out)
        return worst
    finally:
        tmp.unlink(missing_ok=True)


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: python -m knowledge.onnx_export MODEL_DIR OUT.onnx", file=sys.stderr)
        return 2
    try:
        worst = export(Path(argv[0]), Path(argv[1]))
    except Exception as exc:  # noqa: BLE001 - one line for the parent process, which falls back
        print(f"{type(exc).__name__}: {exc}".splitlines()[0][:500], file=sys.stderr)
        return 1
    print(f"exported {argv[1]} (largest 1 - cosine against sentence-transformers: {worst:.1e})")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
