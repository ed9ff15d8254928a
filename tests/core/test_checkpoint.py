"""Checkpoints: real files on disk, atomic writes, and every kind of bad file refused in one line."""
from __future__ import annotations

import io
import json
import random
from pathlib import Path

import pytest
import torch

from gan_core import CheckpointError, Trainer
from gan_core import checkpoint as ckpt
from gan_core.checkpoint import load_generator, load_trainer, read_checkpoint, save_state
from gan_core.presets import preset


@pytest.fixture(scope="module")
def saved(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real checkpoint of a short toy run (module-wide: the tests only read it)."""
    trainer = Trainer(preset("toy-ring", batch_size=8, device="cpu", metrics_every=5))
    for _ in range(7):
        trainer.step()
    return trainer.save(tmp_path_factory.mktemp("ckpt") / "toy.pt")


def raw_state(path: Path) -> dict:
    return torch.load(path, weights_only=True)


def refused(source, *, load=read_checkpoint) -> str:
    """The one-line message of the CheckpointError that loading ``source`` raises."""
    with pytest.raises(CheckpointError) as caught:
        load(source)
    message = str(caught.value)
    assert message and "\n" not in message and "Traceback" not in message
    return message


# ------------------------------------------------------------------------------- good files
def test_checkpoint_holds_everything_to_resume(saved: Path) -> None:
    state = read_checkpoint(saved)
    assert {"config", "step", "G", "D", "opt_g", "opt_d", "history", "rng"} <= set(state)
    assert state["step"] == 7 and len(state["history"]["step"]) == 7
    assert state["config"] == preset("toy-ring", batch_size=8, device="cpu", metrics_every=5)
    assert set(state["rng"]) >= {"trainer", "torch_cpu"}


def test_bytes_and_path_load_the_same(saved: Path) -> None:
    from_path, from_bytes = read_checkpoint(saved), read_checkpoint(saved.read_bytes())
    assert from_path["config"] == from_bytes["config"] and from_path["step"] == from_bytes["step"]
    assert all(torch.equal(from_path["G"][k], from_bytes["G"][k]) for k in from_path["G"])
    trainer = load_trainer(saved.read_bytes())
    assert trainer.step_count == 7


def test_load_generator_gives_the_trainers_samples(saved: Path) -> None:
    generator, config, state = load_generator(saved.read_bytes())
    trainer = Trainer.load(saved)
    assert not generator.training and config == trainer.config and state["step"] == 7
    with torch.no_grad():
        assert torch.equal(generator(trainer.fixed_z[:5]), trainer.sample(z=trainer.fixed_z[:5]))


def test_save_is_atomic_and_leaves_no_temp_files(saved: Path, tmp_path: Path) -> None:
    trainer = Trainer.load(saved)
    target = tmp_path / "nested" / "run.pt"
    trainer.save(target)
    trainer.step()
    trainer.save(target)                     # overwrite in place
    assert [p.name for p in target.parent.iterdir()] == ["run.pt"]
    assert read_checkpoint(target)["step"] == 8


def test_a_failed_write_keeps_the_old_file(saved: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "run.pt"
    target.write_bytes(saved.read_bytes())

    def crash(state, handle) -> None:
        handle.write(b"PK\x03\x04 half a checkpoint")
        raise OSError("disk full")

    monkeypatch.setattr(ckpt.torch, "save", crash)
    with pytest.raises(OSError, match="disk full"):
        ckpt.save_state(raw_state(saved), target)
    monkeypatch.undo()
    assert target.read_bytes() == saved.read_bytes()
    assert [p.name for p in tmp_path.iterdir()] == ["run.pt"]


# ------------------------------------------------------------------------------- bad files
def test_missing_file(tmp_path: Path) -> None:
    assert "no such checkpoint file" in refused(tmp_path / "nope.pt")


def test_truncated_file(saved: Path, tmp_path: Path) -> None:
    data = saved.read_bytes()
    half = tmp_path / "half.pt"
    half.write_bytes(data[: len(data) // 2])
    message = refused(half)
    assert "truncated or corrupt" in message and "half.pt" in message
    assert "truncated or corrupt" in refused(data[:200])


def test_random_bytes(tmp_path: Path) -> None:
    noise = tmp_path / "noise.pt"
    noise.write_bytes(random.Random(0).randbytes(4096))
    assert "not a checkpoint" in refused(noise)
    for seed in range(1, 40):               # many random prefixes trip different torch errors
        assert "not a checkpoint" in refused(random.Random(seed).randbytes(300))


def test_text_file(tmp_path: Path) -> None:
    text = tmp_path / "notes.pt"
    text.write_text("hello world, this is not a model\n")
    assert "not a checkpoint" in refused(text)


def test_empty_file(tmp_path: Path) -> None:
    blank = tmp_path / "blank.pt"
    blank.touch()
    assert "the file is empty" in refused(blank)
    assert "the file is empty" in refused(b"")


def test_foreign_pytorch_file(tmp_path: Path) -> None:
    foreign = tmp_path / "weights.pt"
    torch.save({"layer.weight": torch.ones(3, 3), "layer.bias": torch.zeros(3)}, foreign)
    assert "not a GAN Playground checkpoint" in refused(foreign)
    buffer = io.BytesIO()
    torch.save([torch.ones(2)], buffer)
    assert "not a GAN Playground checkpoint" in refused(buffer.getvalue())


class _Trap:
    """Unpickling this would create a marker file (a stand-in for running any code)."""

    marker: Path

    def __reduce__(self):
        return (open, (str(self.marker), "w"))


def test_malicious_pickle_is_refused_and_not_run(tmp_path: Path) -> None:
    trap = _Trap()
    trap.marker = tmp_path / "PWNED"
    evil = tmp_path / "evil.pt"
    torch.save({"format": ckpt.FORMAT, "payload": trap}, evil)
    message = refused(evil)
    assert "refused" in message and "could run code" in message
    assert not trap.marker.exists()
    assert "refused" in refused(evil.read_bytes(), load=load_trainer)
    assert not trap.marker.exists()


def test_invalid_config_inside(saved: Path, tmp_path: Path) -> None:
    state = raw_state(saved)
    config = json.loads(state["config"])
    config["lr_g"] = -1
    state["config"] = json.dumps(config)
    bad = save_state(state, tmp_path / "badcfg.pt")
    message = refused(bad)
    assert "config is invalid" in message and "lr_g" in message

    state["config"] = "{not json"
    assert "config is invalid" in refused(save_state(state, tmp_path / "notjson.pt"))


@pytest.mark.parametrize("key", ["G", "opt_d", "history", "rng"])
def test_missing_part(saved: Path, tmp_path: Path, key: str) -> None:
    state = raw_state(saved)
    del state[key]
    assert f"lacks '{key}'" in refused(save_state(state, tmp_path / "part.pt"))


@pytest.mark.parametrize("version", [99, "one"])
def test_unknown_format_version(saved: Path, tmp_path: Path, version) -> None:
    state = raw_state(saved)
    state["version"] = version
    assert "format" in refused(save_state(state, tmp_path / "v.pt"))


@pytest.mark.parametrize("load", [load_trainer, load_generator])
def test_weights_that_do_not_fit_their_config(saved: Path, tmp_path: Path, load) -> None:
    state = raw_state(saved)
    config = json.loads(state["config"])
    config["g_hidden"] = [64, 64]           # the stored G has three layers of 128
    state["config"] = json.dumps(config)
    message = refused(save_state(state, tmp_path / "mismatch.pt"), load=load)
    assert "generator weights do not match" in message
    assert "body." in message                # names a layer that does not fit


@pytest.mark.parametrize(("key", "value"), [("step", "seven"), ("history", {"step": []}),
                                            ("opt_g", {"state": {}}), ("rng", {"trainer": torch.zeros(3)})])
def test_broken_training_state(saved: Path, tmp_path: Path, key: str, value) -> None:
    state = raw_state(saved)
    state[key] = value
    message = refused(save_state(state, tmp_path / "state.pt"), load=load_trainer)
    assert "does not fit" in message


def test_read_checkpoint_of_a_directory(tmp_path: Path) -> None:
    assert "no such checkpoint file" in refused(tmp_path)


def test_a_gpu_checkpoint_resumes_on_the_cpu(saved: Path, tmp_path: Path) -> None:
    """A CUDA generator's state (16 bytes of seed and offset) cannot seed a CPU generator: the
    weights, optimisers and history still move, only the batch / z draws start afresh."""
    state = raw_state(saved)
    state["rng"].update(device="cuda", trainer=torch.zeros(16, dtype=torch.uint8),
                        torch_cuda=torch.zeros(16, dtype=torch.uint8))
    trainer = load_trainer(save_state(state, tmp_path / "gpu.pt"), device="cpu")
    assert trainer.step_count == 7 and len(trainer.history) == 7
    assert all(torch.equal(trainer.G.state_dict()[k], state["G"][k]) for k in state["G"])
    trainer.step()
    trainer.flush()
    assert trainer.history.step[-1] == 8
