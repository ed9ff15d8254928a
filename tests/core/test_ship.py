"""The shipped-models index: a damaged checkpoints/index.json is one typed sentence, not a crash."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from gan_core.checkpoint import load_trainer
from gan_core.errors import GanCoreError
from gan_core.metrics import trainer_pattern_score
from gan_core.ship import CHECKPOINTS, INDEX, SHIPPED, ShippedIndexError, read_index

GOOD = {"name": "toy-ring", "title": "2D toy", "file": "toy-ring.pt"}


def test_the_shipped_index_reads() -> None:
    entries = read_index()
    assert {e["name"] for e in entries} <= set(SHIPPED) and all(e["file"].endswith(".pt") for e in entries)
    assert read_index(INDEX.parent / "absent.json") == []


def test_the_shipped_pattern_model_has_learned_the_pattern() -> None:
    (name,) = [n for n in SHIPPED if n.startswith("pattern")]
    score = trainer_pattern_score(load_trainer(CHECKPOINTS / f"{name}.pt", device="cpu"))
    assert score["learned"], score["slot_means"]


@pytest.mark.parametrize(("text", "words"), [
    ("{not json", "is damaged"), ("", "is damaged"), ('{"rebuild": "x"}', "is damaged"),
    ("[1, 2]", "is damaged"), ('{"checkpoints": {"a": 1}}', "holds no list"),
    (json.dumps({"checkpoints": [GOOD, "toy"]}), "Entry 2 of index.json is not a dictionary"),
    (json.dumps({"checkpoints": [{**GOOD, "title": None}]}), "lacks a valid 'title'"),
    (json.dumps({"checkpoints": [{"name": "x", "title": "y"}]}), "lacks a valid 'file'"),
    (json.dumps({"checkpoints": [{**GOOD, "file": "/etc/passwd"}]}), "names a file outside"),
    (json.dumps({"checkpoints": [{**GOOD, "file": "../x.pt"}]}), "names a file outside")])
def test_a_damaged_index_is_one_typed_sentence(tmp_path: Path, text: str, words: str) -> None:
    index = tmp_path / "index.json"
    index.write_text(text)
    with pytest.raises(ShippedIndexError) as caught:
        read_index(index)
    message = str(caught.value)
    assert isinstance(caught.value, GanCoreError) and words in message
    assert "\n" not in message and str(tmp_path) not in message


def test_a_good_index_in_another_folder(tmp_path: Path) -> None:
    index = tmp_path / "index.json"
    index.write_text(json.dumps({"checkpoints": [GOOD]}))
    assert read_index(index) == [GOOD]
