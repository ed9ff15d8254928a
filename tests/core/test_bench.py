"""The engine's benchmarks in quick runs (every section measured, the JSON written) and the
figures they rest on.  Timings are not asserted: they depend on the machine."""
from __future__ import annotations

import json
from pathlib import Path

import torch

from bench import first_figures, throughput
from bench.seed_loop import SeedStyleLoop
from gan_core.models.common import Dropout
from gan_core.presets import preset
from gan_core.trainer import Trainer


def test_quick_benchmark_writes_every_section(tmp_path: Path, capsys) -> None:
    out, threads = tmp_path / "bench.json", torch.get_num_threads()
    try:      # the preset itself is measured in a subprocess
        assert throughput.main(["--quick", "--device", "cpu", "--threads", "1", "--presets", "toy-ring",
                                "--json", str(out)]) == 0
    finally:
        torch.set_num_threads(threads)
    printed = capsys.readouterr().out
    assert "ours/seed" in printed and "page cost" in printed   # the two tables
    report = json.loads(out.read_text())
    assert report["quick"] and report["machine"]["cores"] >= 1 and report["machine"]["torch_threads"] == 1
    (result,) = report["results"]
    assert (result["preset"], result["device"]) == ("toy-ring", "cpu")
    for loop in ("ours", "seed"):
        assert set(result[loop]) == {"steps_per_s", "epoch_seconds", "gflops", "fraction_of_matmul"}
        assert result[loop]["steps_per_s"] > 0
        assert len(result["rounds"]["rates"][loop]) == 2             # alternated blocks
    assert result["ratio"] > 0 and result["matmul_gflops"]["1024"] > 0
    assert result["flops_per_step"]["counted"] <= result["flops_per_step"]["formula"]
    page = result["live_page"]
    assert page["alone_steps_per_s"] > 0 and page["with_page_steps_per_s"] > 0
    assert page["page_render_ms"] > 0 and page["threads"] >= 1
    assert result["latency"]["median_ms"] > 0
    assert result["memory"]["peak_rss_mb"] > 0 and result["memory"]["gpu_peak_mb"] is None


def test_seed_loop_trains_the_same_networks_from_the_same_start() -> None:
    config = preset("seed-000-vanilla", device="cpu", batch_size=8)
    seed = SeedStyleLoop(config)
    ours = Trainer(config)
    for a, b in zip([*seed.G.state_dict().values(), *seed.D.state_dict().values()],
                    [*ours.G.state_dict().values(), *ours.D.state_dict().values()]):
        assert torch.equal(a, b)
    kinds = lambda net: [type(m) for m in net.modules() if isinstance(m, torch.nn.Dropout)]   # noqa: E731
    assert kinds(seed.D) == [torch.nn.Dropout] and kinds(ours.D) == [Dropout]   # the seeds' own kernel
    before = [p.detach().clone() for p in seed.G.parameters()]
    for _ in range(3):
        seed.step()
    assert len(seed.d_losses) == len(seed.g_losses) == 3            # a .item() per step, like the seeds
    assert all(not torch.equal(a, p) for a, p in zip(before, seed.G.parameters()))


def test_flop_formula_bounds_the_counted_flops_closely() -> None:
    """The textbook formula only over-counts the first layers' input gradients; R1's extra work is
    counted but not in the formula."""
    for name in ("toy-ring", "seed-003-bn-mlp", "dcgan-small"):
        config = preset(name, device="cpu", batch_size=16, r1_gamma=0.0)
        assert 0.8 * throughput.iteration_flops(config) <= throughput.counted_flops(Trainer(config)) <= throughput.iteration_flops(config)
    with_r1 = preset("dcgan-small", device="cpu", batch_size=16)
    assert throughput.counted_flops(Trainer(with_r1)) > throughput.iteration_flops(with_r1)


def test_first_figures_benchmark_times_a_preset(capsys) -> None:
    assert first_figures.main(["--presets", "toy-ring"]) == 0
    [row] = [line for line in capsys.readouterr().out.splitlines() if line.startswith("| toy-ring |")]
    seconds, step = (cell.strip() for cell in row.split("|")[2:4])
    assert float(seconds) > 0 and int(step.replace(",", "")) > 0
