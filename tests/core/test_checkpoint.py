"""Checkpoints: real files on disk, atomic writes, and every kind of bad file refused in one line."""
from __future__ import annotations

import io
import json
import random
from pathlib import Path

import pytest
import torch

from gan_core import CheckpointError, ConfigError, Trainer
from gan_core import checkpoint as ckpt
from gan_core.checkpoint import inspect_checkpoint, load_generator, load_trainer, read_checkpoint, save_state
from gan_core.latent import LatentModel
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
    message = refused(tmp_path / "nope.pt")
    assert "nope.pt: no such checkpoint file" in message and str(tmp_path) not in message


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


@pytest.mark.parametrize(("key", "value"), [("history", {"step": []}), ("opt_g", {"state": {}}),
                                            ("rng", {"trainer": torch.zeros(3)})])
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


# ------------------------------------------------------------------------------- small fields
@pytest.mark.parametrize(("key", "value", "words"), [
    ("step", "abc", "step 'abc' is not a whole number"), ("step", -1, "step -1"),
    ("step", True, "step True"), ("history", [1, 2], "'history' is not a dictionary"),
    ("opt_d", None, "'opt_d' is not a dictionary"), ("G", [torch.zeros(2)], "'G' weights are not"),
    ("D", {"body.0.weight": [1.0]}, "'D' weights are not a dictionary of tensors")])
@pytest.mark.parametrize("load", [read_checkpoint, LatentModel.load, load_trainer])
def test_small_fields_of_the_wrong_type_are_one_sentence(saved: Path, key: str, value, words: str, load) -> None:
    state = raw_state(saved)
    state[key] = value
    buffer = io.BytesIO()
    torch.save(state, buffer)
    assert words in refused(buffer.getvalue(), load=load)


# ------------------------------------------------------------------------------- inspect, overrides
def test_inspect_applies_overrides_and_builds_nothing(saved: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def forbidden(*_args, **_kwargs):
        raise AssertionError("inspect_checkpoint built a network or loaded data")
    monkeypatch.setattr("gan_core.models.build_models", forbidden)
    monkeypatch.setattr("gan_core.trainer.load_dataset", forbidden)
    info = inspect_checkpoint(saved, overrides={"data_dir": "server-data", "device": "auto"})
    assert info.step == 7 and info.config.data_dir == "server-data" and info.config.device == "auto"
    assert info.state["config"] is info.config and set(info.state["G"]) == set(raw_state(saved)["G"])


def test_stored_data_dir_is_never_touched_when_overridden(saved: Path, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """A checkpoint saying data_dir='/' once made torchvision create /MNIST/raw: the server's own
    folder replaces it, and inspecting alone touches no data at all."""
    monkeypatch.setenv("GAN_PLAYGROUND_OFFLINE", "1")
    state = raw_state(saved)
    config = preset("seed-000-vanilla", dataset="mnist", batch_size=8, device="cpu",
                    data_dir=str(tmp_path / "theirs"))
    model = Trainer(config.replace(dataset="mnist-offline", data_dir="data"))
    state.update(config=config.to_json(), G=model.G.state_dict(), D=model.D.state_dict(),
                 opt_g=model.opt_g.state_dict(), opt_d=model.opt_d.state_dict(),
                 history=model.history.to_dict(), step=0)
    buffer = io.BytesIO()
    torch.save(state, buffer)
    ours = tmp_path / "ours"
    info = inspect_checkpoint(buffer.getvalue())
    assert info.config.data_dir == str(tmp_path / "theirs")       # read, never used
    trainer = load_trainer(buffer.getvalue(), overrides={"data_dir": str(ours)})
    assert trainer.config.data_dir == str(ours) and trainer.data.name == "mnist-offline"
    assert not (tmp_path / "theirs").exists()


def test_device_override_keeps_a_gpu_checkpoint_loadable(saved: Path, tmp_path: Path) -> None:
    state = raw_state(saved)
    state["config"] = json.dumps({**json.loads(state["config"]), "device": "cuda:7"})
    buffer = io.BytesIO()
    torch.save(state, buffer)
    if not torch.cuda.is_available():
        with pytest.raises(ConfigError) as caught:
            load_trainer(buffer.getvalue())
        assert caught.value.field == "device"
    assert load_trainer(buffer.getvalue(), overrides={"device": "cpu"}).step_count == 7


@pytest.mark.parametrize(("change", "words"), [
    (lambda g: g.pop("body.0.bias"), "'body.0.bias' is missing"),
    (lambda g: g.update({"body.0.weight": torch.zeros(4096, 2)}),
     "'body.0.weight' is 4096 x 2, the config makes it 128 x 2"),
    (lambda g: g.update({"extra": torch.zeros(1)}), "'extra' is not in the model")])
def test_every_weight_shape_is_checked_before_building(saved: Path, change, words: str) -> None:
    state = raw_state(saved)
    change(state["G"])
    buffer = io.BytesIO()
    torch.save(state, buffer)
    for load in (inspect_checkpoint, load_generator, load_trainer, LatentModel.load):
        message = refused(buffer.getvalue(), load=load)
        assert "generator weights do not match" in message and words in message


def hostile_upload() -> bytes:
    """~1 MB: a config asking for six layers of 16,384 (11-21 GB once built) and 1 MB of padding."""
    config = preset("seed-000-vanilla", g_hidden=[16384] * 6, d_hidden=[16384] * 6)
    state = {"format": ckpt.FORMAT, "version": ckpt.VERSION, "config": config.to_json(), "step": 0,
             "G": {"pad": torch.zeros(250_000)}, "D": {}, "opt_g": {}, "opt_d": {}, "history": {},
             "rng": {}}
    buffer = io.BytesIO()
    torch.save(state, buffer)
    return buffer.getvalue()


def _peak_rss() -> int:
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmHWM")) * 1024


def _load_hostile(upload: bytes, pipe) -> None:
    """In a forked child (its peak starts at its size at the fork, so earlier tests hide nothing):
    each loader with and without a limit, and how far the peak grew."""
    before, report = _peak_rss(), {}
    for name, load in (("inspect", inspect_checkpoint), ("trainer", load_trainer),
                       ("latent", LatentModel.load)):
        for limit in (1_500_000_000, None):
            try:
                load(upload, limit_bytes=limit)
                report[name, limit] = ("loaded", None, "")
            except CheckpointError as exc:
                report[name, limit] = (type(exc).__name__, None, str(exc))
            except ConfigError as exc:
                report[name, limit] = (type(exc).__name__, exc.field, str(exc))
    report["grew"] = _peak_rss() - before
    pipe.send(report)


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads the peak from /proc")
def test_a_hostile_upload_is_refused_before_any_memory_is_taken() -> None:
    import multiprocessing
    upload = hostile_upload()
    assert 500_000 < len(upload) < 2_000_000
    receive, send = multiprocessing.Pipe(duplex=False)
    child = multiprocessing.get_context("fork").Process(target=_load_hostile, args=(upload, send))
    child.start()
    report = receive.recv()
    child.join(30)
    for name in ("inspect", "trainer", "latent"):
        kind, field, message = report[name, 1_500_000_000]
        assert (kind, field) == ("BudgetError", "g_hidden"), message
        assert "this server allows 1.5 GB per run" in message and "\n" not in message
        kind, _, message = report[name, None]
        assert kind == "CheckpointError" and "generator weights do not match" in message
    assert report["grew"] < 200_000_000
