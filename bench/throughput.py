"""Throughput benchmark: our Trainer against the seed-style loop, same models, same data.

    python -m bench.throughput                                  # every preset; CPU, and CUDA if present
    python -m bench.throughput --quick --presets toy-ring       # seconds: checks that it all runs (CI)
    python -m bench.throughput --device cpu --threads 1 --presets seed-003-bn-mlp --json out.json

Each (device, preset) runs in its own subprocess, so its peak memory is its own.  Per preset:

- **Throughput.**  ``Trainer.step()`` (its periodic metric flush included) and
  ``bench.seed_loop.SeedStyleLoop.step()`` run alternately, ``rounds`` times each, in blocks of the
  same number of steps, after a warm-up; we report the median steps/s of each and the median over
  rounds of ours / seed-style (alternating makes the ratio fair on a busy machine), and the same
  ratio of process CPU seconds per step (steadier still when other processes share the cores; at
  one thread it is the loops' own cost, at more it includes OpenMP's spinning).  Both use the
  preset with ``eval_every=0``, because the reference loop does not evaluate.  Also the time one
  epoch of 60,000 samples would take at that rate (60000 / batch / steps_per_s).
- **FLOPs.**  One iteration's matmul/conv FLOPs, counted exactly by ``torch.utils.flop_counter``
  over one ``Trainer.step()``.  The JSON also gives the textbook estimate from
  ``model_info(config)["flops_per_sample"]`` (F_G, F_D: forward FLOPs per sample, batch B, k D steps):
      G step  = 3 F_G + 2 F_D       (G forward, D forward, D backward to its input only, G backward ~ 2x)
      D step  = 6 F_D               (D forward on real and fake, backward ~ 2x forward)
      fresh G = F_G per D step that draws new fakes (k for d_first, k - 1 for g_first)
      FLOPs   = B * (3 F_G + 2 F_D + 6 k F_D + fresh F_G)
  It is an upper bound: autograd skips the input gradient of each network's first layer, which the
  "backward ~ 2x" rule counts.  It leaves out the R1 penalty (``r1_gamma``), whose double backward
  the counter does see.  Achieved GFLOP/s = counted FLOPs x steps/s: the *useful* work.  The
  seed-style loop does ~7-11% more (D's weight gradients in G's step, then thrown away) but is
  credited the same useful work, so the two GFLOP/s compare like the steps/s.  Both are also given
  as a fraction of the best plain fp32 matmul (1024^2 and 2048^2) measured in the same process.
- **Live page.**  steps/s of a ``gan_core.runner.Runner`` with no reader and with a thread that,
  every 0.5 s like the app, reads ``runner.snapshot`` and touches every part of it (each history
  column, the samples as a PNG picture, the toy view's arrays), alternately; "page cost" is
  1 - with_page / alone, and "publish cost" is 1 - alone / bare Trainer, the bare Trainer timed
  again at the runner's thread count (``gan_core.threads.training_threads``: the server keeps a core).
- **Slider latency.**  ``bench.latency_latent.measure_slider_latency`` (new z -> G -> PNG, as the
  latent page does it) on a checkpoint of the preset's G: the time depends on the architecture,
  not on the weights, so the benchmark's own model stands in for the shipped one.
- **Memory.**  Peak RSS of the preset's process (both loops and the runner); on CUDA, the peak
  allocated by each loop on its own.

Absolute numbers depend on what else the machine runs; ratios from alternated blocks much less.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

import torch
from torch.utils.flop_counter import FlopCounterMode

from bench.latency_latent import measure_slider_latency
from bench.seed_loop import SeedStyleLoop
from gan_core.config import TrainConfig
from gan_core.errors import DivergenceError
from gan_core.models import model_info
from gan_core.presets import PRESETS, preset
from gan_core.render import png_bytes, samples_picture
from gan_core.runner import SLOTS, RunSlots, Runner, Snapshot
from gan_core.threads import training_threads
from gan_core.ship import cpu_name
from gan_core.threads import cli_threads
from gan_core.trainer import Trainer

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_JSON = ROOT / "bench" / "results" / "latest.json"
EPOCH_SAMPLES = 60_000          # one epoch of MNIST-size data
PAGE_REFRESH_SECONDS = 0.5      # how often the app's live views read a snapshot


@dataclass(frozen=True)
class Plan:
    """How long to measure: the full benchmark, or a quick check that everything runs."""

    rounds: int                 # alternated A/B blocks per loop
    block_seconds: float        # target length of one block
    warmup_steps: int
    runner_seconds: float       # length of one live-page block
    runner_rounds: int
    latency_repeats: int
    matmul_repeats: int
    matmul_sizes: tuple[int, ...]


FULL = Plan(rounds=9, block_seconds=1.0, warmup_steps=5, runner_seconds=2.0, runner_rounds=4,
            latency_repeats=30, matmul_repeats=5, matmul_sizes=(1024, 2048))
QUICK = Plan(rounds=2, block_seconds=0.1, warmup_steps=2, runner_seconds=0.5, runner_rounds=1,
             latency_repeats=3, matmul_repeats=1, matmul_sizes=(1024,))


# ---------------------------------------------------------------------------------- measuring
def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _timed(step: Callable[[], None], finish: Callable[[], None], n: int,
           device: torch.device) -> tuple[float, float]:
    """Wall-clock and process-CPU seconds of n calls of ``step`` and one ``finish``, device work
    included."""
    _sync(device)
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in range(n):
        step()
    finish()
    _sync(device)
    return time.perf_counter() - wall, time.process_time() - cpu


def _rate(step: Callable[[], None], finish: Callable[[], None], n: int, device: torch.device) -> float:
    """Steps per wall-clock second."""
    return n / _timed(step, finish, n, device)[0]


class _Ours:
    """Our Trainer as a benchmark loop: a divergence rolls back and training goes on."""

    def __init__(self, config: TrainConfig):
        self.trainer = Trainer(config)
        self.divergences = 0

    def step(self) -> None:
        self._guarded(self.trainer.step)

    def finish(self) -> None:
        self._guarded(self.trainer.flush)

    def _guarded(self, action: Callable[[], None]) -> None:
        try:
            action()
        except DivergenceError:
            self.divergences += 1


def alternate(ours: _Ours, seed: SeedStyleLoop, device: torch.device, plan: Plan) -> dict[str, Any]:
    """Warm both loops up, then time them in alternated blocks of equal step counts.  Besides
    wall-clock rates it keeps CPU-time ratios: CPU seconds per step barely move when other
    processes share the machine, so on a busy machine they are the steadier comparison."""
    for _ in range(plan.warmup_steps):
        ours.step()
        seed.step()
    ours.finish()
    first = _rate(ours.step, ours.finish, plan.warmup_steps, device)
    n = max(3, round(plan.block_seconds * first))
    rates: dict[str, list[float]] = {"ours": [], "seed": []}
    cpu: dict[str, list[float]] = {"ours": [], "seed": []}
    for r in range(plan.rounds):
        for name in ("ours", "seed") if r % 2 == 0 else ("seed", "ours"):
            loop = ours if name == "ours" else seed
            wall_s, cpu_s = _timed(loop.step, loop.finish, n, device)
            rates[name].append(n / wall_s)
            cpu[name].append(cpu_s)
    ratios = [a / b for a, b in zip(rates["ours"], rates["seed"])]
    cpu_ratios = [b / a for a, b in zip(cpu["ours"], cpu["seed"])]
    return {"steps_per_block": n, "rates": rates, "ratio": statistics.median(ratios), "ratios": ratios,
            "cpu_seconds": cpu, "cpu_ratio": statistics.median(cpu_ratios)}


def iteration_flops(config: TrainConfig) -> int:
    """The textbook estimate of one iteration's FLOPs without R1 (see the module docstring)."""
    per_sample = model_info(config)["flops_per_sample"]
    f_g, f_d, k = per_sample["generator"], per_sample["discriminator"], config.d_steps
    fresh = k if config.order == "d_first" else k - 1
    return config.batch_size * (3 * f_g + 2 * f_d + 6 * k * f_d + fresh * f_g)


def counted_flops(trainer: Trainer) -> int:
    """Matmul/conv FLOPs of one real ``trainer.step()`` (it trains one more step)."""
    with FlopCounterMode(display=False) as counter:
        trainer.step()
    return counter.get_total_flops()


def matmul_gflops(device: torch.device, sizes: tuple[int, ...], repeats: int) -> dict[str, float]:
    """Best-of-``repeats`` fp32 GFLOP/s of plain square matmuls: the machine's practical peak."""
    result = {}
    for n in sizes:
        a, b = torch.randn(n, n, device=device), torch.randn(n, n, device=device)
        a @ b
        best = max(_rate(lambda: a @ b, lambda: None, 1, device) for _ in range(repeats))
        result[str(n)] = 2 * n ** 3 * best / 1e9
    return result


# ---------------------------------------------------------------------------------- live page
class PageReader:
    """A thread that reads the runner's snapshot every 0.5 s and touches it like the page does."""

    def __init__(self, runner: Runner):
        self.runner, self.render_seconds = runner, []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._read, name="page-reader", daemon=True)
        self._thread.start()

    def _read(self) -> None:
        while not self._stop.wait(PAGE_REFRESH_SECONDS):
            start = time.perf_counter()
            touch(self.runner.snapshot)
            self.render_seconds.append(time.perf_counter() - start)

    def stop(self) -> list[float]:
        self._stop.set()
        self._thread.join()
        return self.render_seconds


def touch(snapshot: Snapshot) -> None:
    """A stand-in for a page render: read every part of the snapshot, encode the samples as PNG."""
    for column in snapshot.history.values():
        column.tolist()
    if snapshot.samples is not None and snapshot.config is not None:
        png_bytes(samples_picture(torch.from_numpy(snapshot.samples), snapshot.config.data_kind))
    if snapshot.toy is not None:
        for values in (snapshot.toy.heatmap, snapshot.toy.real, snapshot.toy.fake, snapshot.toy.arrows):
            values.tolist()


def _fresh_snapshot(runner: Runner, timeout: float = 120.0) -> tuple[float, Snapshot]:
    """The moment a new snapshot is published, and that snapshot."""
    version, deadline = runner.snapshot.version, time.monotonic() + timeout
    while runner.snapshot.version == version:
        if time.monotonic() > deadline:
            raise TimeoutError("the runner published no snapshot")
        time.sleep(0.002)
    return time.perf_counter(), runner.snapshot


def _runner_rate(runner: Runner, seconds: float) -> float:
    t0, first = _fresh_snapshot(runner)
    time.sleep(seconds)
    t1, last = _fresh_snapshot(runner)
    if last.status != "running":
        raise RuntimeError(f"the run stopped during the measurement: {last.status} {last.message}")
    return (last.step - first.step) / (t1 - t0)


def measure_live_page(config: TrainConfig, seconds: float, plan: Plan) -> dict[str, Any]:
    """Runner steps/s with and without a page reading its snapshots, alternated."""
    runner = Runner(config, slots=RunSlots(SLOTS.limit))   # the app's cap, so the app's threads
    rates: dict[str, list[float]] = {"alone": [], "with_page": []}
    render: list[float] = []
    try:
        runner.wait_for(lambda s: s.status != "loading", timeout=300)
        runner.play()
        runner.wait_for(lambda s: s.status == "running" and s.step > 0, timeout=300)
        for r in range(plan.runner_rounds):
            for mode in ("alone", "with_page") if r % 2 == 0 else ("with_page", "alone"):
                page = PageReader(runner) if mode == "with_page" else None
                rates[mode].append(_runner_rate(runner, seconds))
                render += page.stop() if page else []
    finally:
        runner.stop()
    alone, with_page = (statistics.median(rates[m]) for m in ("alone", "with_page"))
    return {"rates": rates, "alone_steps_per_s": alone, "with_page_steps_per_s": with_page,
            "page_cost": 1 - with_page / alone,
            "page_render_ms": 1e3 * statistics.median(render) if render else None}


# ---------------------------------------------------------------------------------- latency
def slider_latency(trainer: Trainer, repeats: int) -> dict[str, Any]:
    """The latent page's slider latency (bench.latency_latent) on a checkpoint of ``trainer``."""
    with tempfile.TemporaryDirectory() as folder:
        return measure_slider_latency(trainer.save(Path(folder) / "model.pt"), repeats)


# ---------------------------------------------------------------------------------- one preset
def gpu_peaks(config: TrainConfig, steps: int) -> dict[str, float]:
    """MB of GPU memory each loop allocates at its peak, measured alone."""
    peaks = {}
    for name, make in (("ours", _Ours), ("seed", SeedStyleLoop)):
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
        base = torch.cuda.memory_allocated()
        loop = make(config)
        for _ in range(steps):
            loop.step()
        torch.cuda.synchronize()
        peaks[name] = (torch.cuda.max_memory_allocated() - base) / 2 ** 20
        del loop
    return peaks


def _summary(steps_per_s: float, config: TrainConfig, flops: int, peak_gflops: float) -> dict[str, float]:
    return {"steps_per_s": steps_per_s, "epoch_seconds": EPOCH_SAMPLES / config.batch_size / steps_per_s,
            "gflops": flops * steps_per_s / 1e9, "fraction_of_matmul": flops * steps_per_s / 1e9 / peak_gflops}


def bench_preset(name: str, device_name: str, plan: Plan) -> dict[str, Any]:
    """Every measurement of one preset on one device (run inside a worker process)."""
    config = preset(name, device=device_name, eval_every=0)
    device = torch.device(device_name)
    matmul = matmul_gflops(device, plan.matmul_sizes, plan.matmul_repeats)
    ours, seed = _Ours(config), SeedStyleLoop(config)
    ab = alternate(ours, seed, device, plan)
    flops = counted_flops(ours.trainer)
    ours.finish()
    peak = max(matmul.values())
    result = {
        "preset": name, "device": device_name, "batch_size": config.batch_size,
        "threads": torch.get_num_threads(), "matmul_gflops": matmul,
        "flops_per_step": {"counted": flops, "formula": iteration_flops(config)},
        "ours": _summary(statistics.median(ab["rates"]["ours"]), config, flops, peak),
        "seed": _summary(statistics.median(ab["rates"]["seed"]), config, flops, peak),
        "ratio": ab["ratio"], "cpu_ratio": ab["cpu_ratio"], "rounds": ab, "divergences": ours.divergences,
        "latency": slider_latency(ours.trainer, plan.latency_repeats),
    }
    # The bare Trainer again, at the thread count the app's training threads use.
    threads = training_threads(SLOTS.limit)
    torch.set_num_threads(threads)
    bare = statistics.median(_rate(ours.step, ours.finish, ab["steps_per_block"], device) for _ in range(2))
    del ours, seed
    # A block long enough for a few steps even where one step takes seconds.
    page = measure_live_page(config, max(plan.runner_seconds, 3 / bare), plan)
    page.update(threads=threads, bare_steps_per_s=bare, publish_cost=1 - page["alone_steps_per_s"] / bare)
    result["live_page"] = page
    result["memory"] = {"peak_rss_mb": _peak_rss_mb(),
                        "gpu_peak_mb": gpu_peaks(config, plan.warmup_steps) if device.type == "cuda" else None}
    return result


def _peak_rss_mb() -> float:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2 ** 20 if sys.platform == "darwin" else peak / 2 ** 10   # bytes vs KiB


# ---------------------------------------------------------------------------------- the command
def machine(threads: int | None) -> dict[str, Any]:
    gpu = torch.cuda.get_device_name() if torch.cuda.is_available() else None
    return {"cpu": cpu_name(), "cores": os.cpu_count(), "torch": torch.__version__,
            "torch_threads": threads or torch.get_num_threads(), "gpu": gpu,
            "cpu_capability": torch.backends.cpu.get_cpu_capability(),
            "python": platform.python_version(), "platform": platform.platform()}


def run_worker(name: str, device: str, quick: bool, threads: int | None) -> dict[str, Any]:
    """A subprocess measures one preset; a failure becomes an 'error' entry, not a crash."""
    command = [sys.executable, "-m", "bench.throughput", "--worker", name, "--device", device]
    command += (["--quick"] if quick else []) + (["--threads", str(threads)] if threads else [])
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        return {"preset": name, "device": device, "error": last}
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    args.threads = cli_threads(args.threads)
    torch.set_num_threads(args.threads)
    plan = QUICK if args.quick else FULL
    if args.worker:
        print(json.dumps(bench_preset(args.worker, args.device, plan)))
        return 0
    devices = [args.device] if args.device else ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    if "cuda" in devices and not torch.cuda.is_available():
        print("error: --device cuda, but no CUDA GPU is available", file=sys.stderr)
        return 2
    report = {"created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
              "command": "python -m bench.throughput " + " ".join(argv if argv is not None else sys.argv[1:]),
              "quick": args.quick, "machine": machine(args.threads), "results": []}
    print(_machine_line(report["machine"]), flush=True)
    for device in devices:
        for name in args.presets:
            result = run_worker(name, device, args.quick, args.threads)
            report["results"].append(result)
            print(f"  done {device} {name}" + (f": ERROR {result['error']}" if "error" in result else ""),
                  file=sys.stderr, flush=True)
    print(tables(report))
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=2) + "\n")
    print(f"\nwrote {args.json}")
    return 1 if any("error" in r for r in report["results"]) else 0


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m bench.throughput",
                                description="Steps/s of our Trainer vs the seed-style loop, live-page "
                                            "cost, slider latency and memory, per preset.")
    p.add_argument("--quick", action="store_true", help="tiny step counts: checks that everything runs")
    p.add_argument("--device", choices=["cpu", "cuda"], help="one device (default: cpu, and cuda if present)")
    p.add_argument("--presets", nargs="+", default=list(PRESETS), choices=list(PRESETS), metavar="PRESET",
                   help="presets to measure (default: all)")
    p.add_argument("--threads", type=int, help="torch CPU threads for both loops (default: the CLI's "
                                               "choice, gan_core.threads.cli_threads)")
    p.add_argument("--json", type=Path, default=DEFAULT_JSON, help=f"where to write the results "
                                                                   f"(default: {DEFAULT_JSON.relative_to(ROOT)})")
    p.add_argument("--worker", help=argparse.SUPPRESS)   # internal: measure one preset, print JSON
    return p


# ---------------------------------------------------------------------------------- the tables
def _machine_line(m: dict[str, Any]) -> str:
    gpu = f", GPU {m['gpu']}" if m["gpu"] else ", no GPU"
    return (f"machine: {m['cpu']} ({m['cores']} cores, {m['cpu_capability']}){gpu}; torch {m['torch']}, "
            f"{m['torch_threads']} CPU threads")


def tables(report: dict[str, Any]) -> str:
    """The results as two plain-text tables: throughput, then live page / latency / memory."""
    ok = [r for r in report["results"] if "error" not in r]
    speed = [("device", "preset", "batch", "ours it/s", "seed it/s", "ours/seed", "(CPU time)",
              "epoch ours", "epoch seed", "GFLOP/s ours", "of matmul", "GFLOP/s seed")]
    for r in ok:
        o, s = r["ours"], r["seed"]
        speed.append((r["device"], r["preset"], str(r["batch_size"]), f"{o['steps_per_s']:.1f}",
                      f"{s['steps_per_s']:.1f}", f"{r['ratio']:.2f}x", f"{r['cpu_ratio']:.2f}x",
                      _duration(o["epoch_seconds"]),
                      _duration(s["epoch_seconds"]), _gflops(o["gflops"]), f"{o['fraction_of_matmul']:.1%}",
                      _gflops(s["gflops"])))
    live = [("device", "preset", "threads", "bare it/s", "runner it/s", "+ page it/s", "page cost",
             "render ms", "slider ms", "peak RSS MB", "GPU MB ours/seed")]
    for r in ok:
        p, m = r["live_page"], r["memory"]
        gpu = "-" if m["gpu_peak_mb"] is None else f"{m['gpu_peak_mb']['ours']:.0f}/{m['gpu_peak_mb']['seed']:.0f}"
        render = "-" if p["page_render_ms"] is None else f"{p['page_render_ms']:.1f}"
        live.append((r["device"], r["preset"], str(p["threads"]), f"{p['bare_steps_per_s']:.1f}",
                     f"{p['alone_steps_per_s']:.1f}", f"{p['with_page_steps_per_s']:.1f}", f"{p['page_cost']:+.1%}", render,
                     f"{r['latency']['median_ms']:.1f}", f"{m['peak_rss_mb']:.0f}", gpu))
    matmul = ", ".join(f"{d} {statistics.median(max(r['matmul_gflops'].values()) for r in ok if r['device'] == d):.0f}"
                       for d in dict.fromkeys(r["device"] for r in ok))
    failed = [f"{r['device']} {r['preset']}: {r['error']}" for r in report["results"] if "error" in r]
    parts = [_format(speed), "(ours/seed: median over alternated rounds of the wall-clock ratio; CPU time: "
             "of the CPU-seconds-per-step ratio, steadier on a busy machine;",
             f" epoch = 60,000 samples; fp32 matmul peak GFLOP/s: {matmul or '-'})", "",
             _format(live), "(page cost = 1 - runner with page / runner alone; render = one page read)"]
    return "\n".join(parts + (["", "FAILED:"] + failed if failed else []))


def _gflops(value: float) -> str:
    return f"{value:.1f}" if value >= 1 else f"{value:.2g}"


def _duration(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 600 else f"{seconds / 60:.0f} min"


def _format(rows: list[tuple[str, ...]]) -> str:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.rjust(w) if i > 1 else cell.ljust(w) for i, (cell, w) in enumerate(zip(row, widths)))
             for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
