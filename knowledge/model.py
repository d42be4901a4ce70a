"""The answer path's fitted parameters: small linear models, applied with numpy, stored as JSON.

`mlpath fit` (knowledge/fit.py) fits them with scikit-learn on the labelled member sets and the cards'
example questions and writes `knowledge/answer_model.json`; serving only reads that file and multiplies
(no scikit-learn import in the bot). Five models, each inspectable by its feature names:

- `route`: from a message's embedding, how likely each guidance card, or a curriculum section, answers it;
- `labels`: from a message's embedding, how likely each kind of paragraph ("What it is", "Common pitfall",
  "How to practise", …) holds what it asks;
- `ranker`: one score for every candidate (section or card) from its features (docs/retrieval.md);
- `sentences`: one score for every sentence of the top candidates, for the extractive answer;
- `scope`: whether the message is about something on the path, from its embedding and the ranking.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from errors import UserError
from knowledge import package_dir

MODEL_VERSION = 1


@dataclass(frozen=True)
class Linear:
    """A standardised linear model: score = ((x - mean) / scale) · coef + intercept."""

    names: tuple[str, ...]
    coef: np.ndarray
    intercept: float
    mean: np.ndarray
    scale: np.ndarray

    def decision(self, x: np.ndarray) -> np.ndarray:
        return ((x - self.mean) / self.scale) @ self.coef + self.intercept

    def proba(self, x: np.ndarray) -> np.ndarray:
        return 1.0 / (1.0 + np.exp(-self.decision(x)))

    def as_json(self) -> dict[str, Any]:
        return {"names": list(self.names), "coef": _round(self.coef), "intercept": round(float(self.intercept), 6),
                "mean": _round(self.mean), "scale": _round(self.scale)}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Linear:
        names = tuple(data["names"])
        coef = np.asarray(data["coef"], dtype=np.float64)
        mean = np.asarray(data["mean"], dtype=np.float64)
        scale = np.asarray(data["scale"], dtype=np.float64)
        if not (len(names) == coef.shape[0] == mean.shape[0] == scale.shape[0]):
            raise ValueError("a linear model's names, coef, mean and scale differ in length")
        return cls(names, coef, float(data["intercept"]), mean, scale)


@dataclass(frozen=True)
class Classes:
    """A linear model per class over an embedding: softmax (`exclusive`) or one sigmoid per class."""

    classes: tuple[str, ...]
    coef: np.ndarray
    """(classes, dimension)"""
    intercept: np.ndarray
    exclusive: bool

    def proba(self, vector: np.ndarray) -> np.ndarray:
        z = self.coef @ vector + self.intercept
        if self.exclusive:
            z = np.exp(z - z.max())
            return z / z.sum()
        return 1.0 / (1.0 + np.exp(-z))

    def as_json(self) -> dict[str, Any]:
        return {"classes": list(self.classes), "coef": _round(self.coef), "intercept": _round(self.intercept),
                "exclusive": self.exclusive}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Classes:
        coef = np.asarray(data["coef"], dtype=np.float64)
        intercept = np.asarray(data["intercept"], dtype=np.float64)
        classes = tuple(data["classes"])
        if coef.ndim != 2 or coef.shape[0] != len(classes) or intercept.shape != (len(classes),):
            raise ValueError("a class model's coef must be (classes, dimension) with one intercept per class")
        return cls(classes, coef, intercept, bool(data["exclusive"]))


def _round(array: np.ndarray) -> Any:
    return np.round(np.asarray(array, dtype=np.float64), 6).tolist()


@dataclass(frozen=True)
class AnswerModel:
    route: Classes
    labels: Classes
    scope_text: Classes
    """One class, "in scope", from the message's embedding alone (an input of `scope`)."""
    ranker: Linear
    sentences: Linear
    scope: Linear
    asked: tuple[tuple[str, str], ...] = ()
    """The labelled questions (as searched) with the key of the candidate that answered each best (a section's
    `source::section` or a card id): the ranker's nearest-question features (knowledge/rank.py)."""
    settings: dict[str, float] = field(default_factory=dict)
    """Fitted constants of composition (e.g. `second_min`: the least score a second candidate needs)."""
    meta: dict[str, Any] = field(default_factory=dict)
    """What it was fitted on (sets, questions, embedding model) and when: shown by `mlpath fit`."""

    def check(self, *, ranker: tuple[str, ...], sentences: tuple[str, ...], scope: tuple[str, ...]) -> None:
        """Raise UserError when the file was fitted for other features than the code computes (refit it)."""
        for part, names in (("ranker", ranker), ("sentences", sentences), ("scope", scope)):
            if getattr(self, part).names != names:
                raise UserError(f"the answer model was fitted for other {part} features than this version "
                                "computes: run `mlpath fit` (make fit)")

    def setting(self, name: str, default: float) -> float:
        return float(self.settings.get(name, default))

    def as_json(self) -> dict[str, Any]:
        return {"version": MODEL_VERSION, "meta": self.meta, "settings": self.settings,
                "route": self.route.as_json(), "labels": self.labels.as_json(),
                "scope_text": self.scope_text.as_json(), "ranker": self.ranker.as_json(),
                "sentences": self.sentences.as_json(), "scope": self.scope.as_json(),
                "asked": [list(pair) for pair in self.asked]}

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(self.as_json(), separators=(",", ":")) + "\n", encoding="utf-8")

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> AnswerModel:
        if data.get("version") != MODEL_VERSION:
            raise ValueError(f"model version {data.get('version')!r}, expected {MODEL_VERSION}: run `mlpath fit`")
        return cls(Classes.from_json(data["route"]), Classes.from_json(data["labels"]),
                   Classes.from_json(data["scope_text"]), Linear.from_json(data["ranker"]),
                   Linear.from_json(data["sentences"]), Linear.from_json(data["scope"]),
                   tuple((str(text), str(key)) for text, key in data.get("asked", [])),
                   {k: float(v) for k, v in data.get("settings", {}).items()}, dict(data.get("meta", {})))


def default_model_path() -> Path:
    return package_dir() / "answer_model.json"


def load_model(path: Path | None = None) -> AnswerModel:
    path = path or default_model_path()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return AnswerModel.from_json(data)
    except FileNotFoundError:
        raise UserError(f"the answer model is missing: {path} (run `mlpath fit`)") from None
    except (ValueError, KeyError, TypeError) as exc:
        raise UserError(f"{path}: not a valid answer model ({exc})") from None


@lru_cache(maxsize=1)
def bundled_model() -> AnswerModel:
    """The fitted model shipped with the package, loaded once."""
    return load_model()
