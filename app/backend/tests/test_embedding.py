"""The hashing vectorizer: deterministic, normalised, and ranks texts by shared vocabulary."""

import math
import subprocess
import sys
from pathlib import Path

from goaltrajectory.embedding import DIMENSIONS, cosine_distance, embed


def test_vector_has_fixed_dimensions_and_unit_length() -> None:
    vector = embed("Run a marathon before I turn forty")
    assert len(vector) == DIMENSIONS
    assert math.isclose(math.sqrt(sum(x * x for x in vector)), 1.0, rel_tol=1e-9)


def test_same_text_same_vector_across_processes() -> None:
    # hash() is salted per process; the embedding must not be.
    code = "from goaltrajectory.embedding import embed; print(embed('Learn Spanish to B2 level'))"
    backend = Path(__file__).resolve().parents[1]
    env = {"PYTHONPATH": str(backend), "PYTHONHASHSEED": "12345"}
    other = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env)
    assert [float(x) for x in other.stdout.strip()[1:-1].split(", ")] == embed("Learn Spanish to B2 level")


def test_case_and_punctuation_do_not_matter() -> None:
    assert embed("Read 12 books!") == embed("read 12 BOOKS")


def test_related_goals_are_closer_than_unrelated_ones() -> None:
    marathon = embed("Run a marathon in under four hours")
    half = embed("Train for a half marathon run")
    piano = embed("Learn to play the piano")
    assert cosine_distance(marathon, half) < cosine_distance(marathon, piano)
    assert math.isclose(cosine_distance(marathon, marathon), 0.0, abs_tol=1e-9)


def test_text_without_words_still_gets_a_direction() -> None:
    vector = embed("?!")
    assert any(vector)
    assert embed("   ") == [0.0] * DIMENSIONS
