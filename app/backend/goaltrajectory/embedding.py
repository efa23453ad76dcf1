"""Deterministic in-process text embedding: a signed hashing vectorizer (no model download).

Features are lower-cased word tokens, word bigrams and character trigrams of each word, hashed
with BLAKE2b (stable across processes and Python versions, unlike ``hash()``) into ``DIMENSIONS``
buckets with a hash-derived sign, weighted by sublinear term frequency and L2-normalised, so cosine
distance in ChromaDB ranks texts by shared vocabulary.
"""

from __future__ import annotations

import hashlib
import itertools
import math
import re
from collections import Counter

DIMENSIONS = 256
# Changing the features or DIMENSIONS changes every vector: bump this and re-index.
EMBEDDING_VERSION = "hash-v1-256"

_WORD = re.compile(r"\w+", re.UNICODE)
_WEIGHTS = {"w": 1.0, "b": 0.5, "c": 0.25}


def _features(text: str) -> Counter[tuple[str, str]]:
    words = _WORD.findall(text.lower())
    feats: Counter[tuple[str, str]] = Counter()
    for word in words:
        feats["w", word] += 1
        padded = f"<{word}>"
        for i in range(len(padded) - 2):
            feats["c", padded[i : i + 3]] += 1
    for first, second in itertools.pairwise(words):
        feats["b", f"{first} {second}"] += 1
    if not feats:
        # Text without word characters ("?!"): fall back to its visible characters.
        for char in text.strip():
            feats["c", char] += 1
    return feats


def _bucket(kind: str, token: str) -> tuple[int, float]:
    digest = hashlib.blake2b(f"{kind}:{token}".encode(), digest_size=8).digest()
    value = int.from_bytes(digest, "big")
    return value % DIMENSIONS, 1.0 if (value >> 63) & 1 else -1.0


def embed(text: str) -> list[float]:
    """A unit-length vector of ``DIMENSIONS`` floats; all zeros only for blank text."""
    vector = [0.0] * DIMENSIONS
    for (kind, token), count in _features(text).items():
        index, sign = _bucket(kind, token)
        vector[index] += sign * _WEIGHTS[kind] * (1.0 + math.log(count))
    norm = math.sqrt(sum(x * x for x in vector))
    if norm == 0.0:
        if text.strip():  # signed features that cancelled out exactly: still a valid direction
            vector[0] = 1.0
        return vector
    return [x / norm for x in vector]


def cosine_distance(a: list[float], b: list[float]) -> float:
    """1 - cosine similarity of two unit vectors (what ChromaDB's cosine space reports)."""
    return 1.0 - sum(x * y for x, y in zip(a, b, strict=True))
