"""Thread counts: one core stays free, the CLI's --threads and OMP_NUM_THREADS win when given."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch

from gan_core import threads
from gan_core.__main__ import main


@pytest.mark.parametrize(("cores", "runs", "expected"), [(1, 1, 1), (2, 1, 1), (8, 1, 7), (8, 2, 3), (8, 10, 1)])
def test_training_threads_keep_one_core_free(monkeypatch, cores: int, runs: int, expected: int) -> None:
    monkeypatch.setattr(threads, "cpu_cores", lambda: cores)
    assert threads.training_threads(runs) == expected


def test_cli_threads_prefer_the_flag_then_the_environment(monkeypatch) -> None:
    monkeypatch.setattr(threads, "cpu_cores", lambda: 16)
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    assert threads.cli_threads() == 15 and threads.cli_threads(3) == 3
    monkeypatch.setenv("OMP_NUM_THREADS", "2")
    assert threads.cli_threads() == 2 and threads.cli_threads(5) == 5
    monkeypatch.setenv("OMP_NUM_THREADS", "lots")
    assert threads.cli_threads() == 15


def test_the_cli_trains_at_the_chosen_thread_count(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setattr(threads, "cpu_cores", lambda: 2)      # a 2-core machine: 1 thread
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(2)                               # torch's own default on 2 cores
        assert main(["train", "--preset", "toy-ring", "--steps", "2", "--out", str(tmp_path / "a.pt")]) == 0
        assert torch.get_num_threads() == 1
        assert main(["train", "--preset", "toy-ring", "--steps", "2", "--threads", "2",
                     "--out", str(tmp_path / "b.pt")]) == 0
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)
