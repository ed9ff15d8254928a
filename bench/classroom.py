"""A class on one server: N students, each in a browser session of their own, train at once.

    python -m bench.classroom --students N [--seconds S] [--presets P ...] [--quick] [--json FILE]

The classroom deployment is one server that a whole class opens at the same moment, so the
server is the scarce resource.  This starts one real ``streamlit run app.py`` (offline) and one
headless Chromium with a browser context per student (its own Streamlit session), opened a
little apart.  Each student picks a preset (cycling through ``--presets``), presses Play and
lets it train; every third student (the 2nd, 5th, ...) pauses for a while early in the window
and presses Play again, as a class does.  The ``--seconds`` window starts once every student's
Play has been answered.

Timings are taken inside each page by a small recorder (``RECORDER``): it notes, by the
browser's clock, the navigation start, the first title, the first enabled Play button, every
click on Play or Pause and every change of the status and step tiles.  So a slow driver (one
Python thread for all the tabs) delays the clicks but never skews the figures.

Reported per student and summarised (median, p90, max): first render, Play button ready,
Play -> running or queued (and which came first), Play -> running (the first step the page
counts after the click: the status tile alone is no proof), Pause -> paused; fairness:
which runs advanced (step count grew) over the window's last minute (last S/2 s with --quick);
server CPU (the streamlit process and all its descendants, the run processes among them, from
/proc utime+stime, reaped children included) per student, and the streamlit process's own
share; Chromium's CPU apart (students' browsers run on their own machines); memory per session
(PSS of the server's process tree at the window's end minus the server's alone before anyone
connected, over N); and, after every tab closes, how long until every run process is gone (the
benchmark fails if one is left after ``CLOSE_LIMIT`` s).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from playwright.sync_api import Error as PlaywrightError

from bench.app_server import launched_chromium, running_app, server_pid
from bench.live_page import FIGURE_VALUE, _main_view, choose_preset, cpu_counters, steal_share
from bench.stats import percentile
from gan_core.presets import PRESETS
from gan_core.runner import SLOTS

DEFAULT_PRESETS = ["toy-ring", "seed-002-pattern", "seed-001-mlp", "dcgan-small"]
QUICK_STUDENTS, QUICK_SECONDS = 2, 4.0
STAGGER_S = 0.5          # between two students opening the page
PHASE_LIMIT_S = 180.0    # a student stuck this long in one step of the script counts as failed
ACTION_LIMIT_S = 60.0    # one click (the driver waits for it, and every other student with it)
CLOSE_LIMIT_S = 30.0     # every run process must be gone this long after the tabs close
POLL_S = 0.25            # pacing of the driver's loop (the figures come from the pages' clocks)
PAUSER_EVERY = 3         # every third student pauses (the 2nd, 5th, ...)
PAUSE_AT, RESUME_AT = 0.05, 0.2  # shares of the window: well before the fairness span begins
FAIR_SPAN_S = 60.0
QUEUED = ("queued", "waiting")   # a run over the server's cap waits for a turn
ACK = ("running", *QUEUED)
CLK_TCK = os.sysconf("SC_CLK_TCK")

# Installed in every page before Streamlit's own scripts: times by Date.now() (the machine's
# clock, as Python's time.time()), polled by a MutationObserver, never by the driver.
RECORDER = """(() => {
  const log = {nav: performance.timeOrigin, title: null, playReady: null, events: []};
  const metric = label => {   // the value of the run figure with this label
    const v = document.querySelector(%s.replace('{}', label));
    return v ? v.textContent.trim() : null;
  };
  const enabled = key => { const b = document.querySelector(`.st-key-${key} button`); return !!b && !b.disabled; };
  let status = null, step = null;
  const check = () => {
    const now = Date.now();
    const h1 = document.querySelector("[data-testid='stMain'] h1");
    if (log.title === null && h1 && h1.getClientRects().length) log.title = now;
    if (log.playReady === null && enabled('play')) log.playReady = now;
    const s = metric('Status');
    if (s && s !== status) { status = s; log.events.push([now, 'status', s]); }
    const k = metric('Step');
    if (k && k !== step) { step = k; log.events.push([now, 'step', Number(k.replace(/,/g, ''))]); }
  };
  document.addEventListener('click', e => {
    for (const key of ['play', 'pause'])
      if (e.target.closest && e.target.closest(`.st-key-${key}`)) log.events.push([Date.now(), 'click', key]);
  }, true);
  new MutationObserver(check).observe(document, {subtree: true, childList: true, characterData: true,
                                                 attributes: true, attributeFilter: ['disabled']});
  const click = key => enabled(key) && (document.querySelector(`.st-key-${key} button`).click(), true);
  window.__classroom = {log, click, state: view => ({title: log.title !== null, play: enabled('play'),
    pause: enabled('pause'), status, view: !!document.querySelector(view)})};
})()""" % json.dumps(FIGURE_VALUE)
STATE = "view => window.__classroom ? window.__classroom.state(view) : null"
CLICK = "key => window.__classroom.click(key)"


# ----------------------------------------------------------------------------- processes, from /proc
def _stat(pid: int) -> list[str] | None:
    """/proc/PID/stat's fields after the command name (index 0 is field 3, the state)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None   # the process ended while we looked


def _parents() -> dict[int, int]:
    parents = {}
    for entry in Path("/proc").iterdir():
        fields = _stat(int(entry.name)) if entry.name.isdigit() else None
        if fields:
            parents[int(entry.name)] = int(fields[1])
    return parents


def descendants(pid: int) -> list[int]:
    """Every process below ``pid``, by the ppid links of /proc/*/stat."""
    parents, found, frontier = _parents(), [], {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier}
        found += sorted(frontier)
    return found


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def _comm(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return ""


def cpu_seconds(pids: list[int], reaped: bool = True) -> float:
    """CPU seconds (user + system) of ``pids`` so far; with ``reaped``, also those of their
    children that ended and were waited for, so a process ending mid-window is still counted."""
    ticks = 0
    for pid in pids:
        fields = _stat(pid)
        if fields:
            ticks += sum(int(v) for v in fields[11:15 if reaped else 13])
    return ticks / CLK_TCK


def pss_mb(pids: list[int]) -> float:
    """Proportional set size of ``pids`` together (shared pages split among their users), MB."""
    total_kb = 0
    for pid in pids:
        try:
            rollup = Path(f"/proc/{pid}/smaps_rollup").read_text()
        except OSError:
            continue
        total_kb += next((int(line.split()[1]) for line in rollup.splitlines() if line.startswith("Pss:")), 0)
    return total_kb / 1024


def machine_busy_seconds() -> float:
    """CPU seconds the whole machine spent busy so far (/proc/stat, less idle, iowait and steal):
    on a shared machine, what the server and the browser did not use went to someone else."""
    ticks = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    return (sum(ticks) - ticks[3] - ticks[4] - ticks[7]) / CLK_TCK


def server_tree(server: int) -> list[int]:
    return [server, *descendants(server)]


def run_processes(server: int) -> list[int]:
    """The training processes: whatever the server's forkserver forked (not the forkserver)."""
    tree = descendants(server)
    forkservers = {pid for pid in tree if "forkserver" in _cmdline(pid)}
    parents = _parents()
    return [pid for pid in tree if parents.get(pid) in forkservers]


def browser_pids() -> list[int]:
    return [pid for pid in descendants(os.getpid()) if _comm(pid).startswith(("chrom", "headless"))]


@dataclass
class Reading:
    """One look at the costs: server tree, streamlit alone, browser (CPU s); PSS; clocks."""
    wall: float
    server_cpu: float
    streamlit_cpu: float
    browser_cpu: float
    pss_mb: float
    runs: int
    runs_pss_mb: float
    machine: tuple[int, int] | None
    machine_busy: float

    @classmethod
    def take(cls, server: int) -> "Reading":
        tree, runs = server_tree(server), run_processes(server)
        return cls(time.time(), cpu_seconds(tree), cpu_seconds([server], reaped=False),
                   cpu_seconds(browser_pids()), pss_mb(tree), len(runs), pss_mb(runs), cpu_counters(),
                   machine_busy_seconds())


# ------------------------------------------------------------------------------------ the students
@dataclass
class Student:
    """One student's tab and where their script stands.  ``phase`` names what they wait for."""
    index: int
    preset: str
    pauser: bool
    phase: str = "arriving"
    since: float = field(default_factory=time.monotonic)
    page: Any = None
    context: Any = None
    failure: str | None = None
    log: dict | None = None

    def enter(self, phase: str) -> None:
        self.phase, self.since = phase, time.monotonic()
        progress(f"student {self.index + 1} ({self.preset}): {phase}")

    def state(self) -> dict | None:
        """What the recorder sees now; None before the tab opens, or while its page cannot be read
        (a page still loading: being stuck that way is what PHASE_LIMIT_S catches)."""
        try:
            return self.page.evaluate(STATE, _main_view(self.preset)) if self.page else None
        except PlaywrightError:
            return None

    def press(self, key: str) -> bool:
        """Click the run button ``key`` from inside the page, if it is enabled: one round trip.
        Playwright's click waits for the page to draw stable frames first, which on a crowded
        machine took ~10 s a click and threw the pausers' schedule (one driver for every tab) off
        by most of the window."""
        return self.page.evaluate(CLICK, key)

    def fail(self, why: str) -> None:
        self.failure, self.phase = why, "failed"
        progress(f"student {self.index + 1} ({self.preset}) failed: {why}")


def open_tab(student: Student, browser, url: str) -> None:
    """A context of its own (a student's own browser session) with the recorder installed."""
    student.context = browser.new_context(viewport={"width": 1400, "height": 1000})
    student.context.add_init_script(RECORDER)
    student.page = student.context.new_page()
    student.page.set_default_timeout(ACTION_LIMIT_S * 1000)
    student.page.goto(url, wait_until="commit", timeout=PHASE_LIMIT_S * 1000)
    student.enter("loading")


def _ready(state: dict | None) -> bool:
    return bool(state and state["play"] and state["status"] == "paused")


def setup_step(student: Student, state: dict | None) -> None:
    """Loaded -> pick the preset; its kind of view drawn and its run paused -> Play; answered -> done.
    The view tells the new run from the default one only for a preset of another data kind than
    the default (toy-ring): the default cycle keeps to those, or to toy-ring itself."""
    if student.phase == "loading" and state and state["title"] and _ready(state):
        choose_preset(student.page, student.preset)
        student.enter("choosing")
    elif student.phase == "choosing" and _ready(state) and state["view"] and student.press("play"):
        student.enter("starting")
    elif student.phase == "starting" and state and state["status"] in ACK:
        student.enter("playing")


def window_step(student: Student, state: dict | None, elapsed: float, seconds: float) -> None:
    """A pauser pauses at PAUSE_AT of the window and plays again at RESUME_AT."""
    if student.phase == "playing" and elapsed >= PAUSE_AT * seconds and student.press("pause"):
        student.enter("pausing")
    elif student.phase == "pausing" and elapsed >= RESUME_AT * seconds and _ready(state) and student.press("play"):
        student.enter("resuming")
    elif student.phase == "resuming" and state and state["status"] in ACK:
        student.enter("done")


def drive(students: list[Student], step: Callable[[Student, dict | None], None],
          waiting: Callable[[Student], bool], until: Callable[[], bool]) -> None:
    """Round-robin over the students ``waiting`` says still have a step to take, until ``until``.
    A student whose page errs, or who sits in one phase over PHASE_LIMIT_S, is failed, not fatal."""
    while not until():
        for student in [s for s in students if waiting(s)]:
            try:
                step(student, student.state())
            except Exception as exc:   # noqa: BLE001 - one student's broken page must not end the class
                student.fail(f"{type(exc).__name__} in {student.phase}: {str(exc).splitlines()[0]}")
            if student.phase != "failed" and time.monotonic() - student.since > PHASE_LIMIT_S:
                student.fail(f"stuck in {student.phase}")
        time.sleep(POLL_S)   # pacing only: conditions are polled, the figures come from the pages


def arrive(students: list[Student], browser, url: str) -> None:
    """Open the tabs STAGGER_S apart while the earlier students already go on with their script."""
    start = time.monotonic()

    def step(student: Student, state: dict | None) -> None:
        if student.phase == "arriving":
            if time.monotonic() - start >= student.index * STAGGER_S:
                open_tab(student, browser, url)
        else:
            setup_step(student, state)

    drive(students, step, lambda s: s.phase not in ("playing", "failed"),
          lambda: all(s.phase in ("playing", "failed") for s in students))


def play_window(students: list[Student], seconds: float) -> None:
    """The measuring window: the pausers pause and play again; the others just train."""
    start = time.monotonic()
    drive([s for s in students if s.pauser],
          lambda s, state: window_step(s, state, time.monotonic() - start, seconds),
          lambda s: s.phase in ("playing", "pausing", "resuming"),
          lambda: time.monotonic() - start >= seconds)


def collect_logs(students: list[Student]) -> None:
    for student in students:
        if student.page is not None:
            try:
                student.log = student.page.evaluate("() => window.__classroom && window.__classroom.log")
            except Exception as exc:   # noqa: BLE001
                student.fail(student.failure or f"log unreadable: {exc}")


def close_tabs(students: list[Student], server: int) -> tuple[float, list[int]]:
    """Close every tab, then poll until the server has no run process left: (seconds, leftovers)."""
    for student in students:
        if student.context is not None:
            student.context.close()
    closed = time.monotonic()
    while (left := run_processes(server)) and time.monotonic() - closed < CLOSE_LIMIT_S:
        time.sleep(0.1)
    return time.monotonic() - closed, left


# ------------------------------------------------------------------------------- figures from logs
def _after(events: list, start: float, wanted: Callable[[list], bool]) -> list | None:
    return next((e for e in events if e[0] >= start and wanted(e)), None)


def _clicks(events: list, key: str) -> list[float]:
    return [e[0] for e in events if e[1] == "click" and e[2] == key]


def _response(events: list, clicked: float | None, statuses: tuple[str, ...]) -> tuple[float | None, str | None]:
    """Seconds from a click to the first status tile among ``statuses``, and which it was."""
    if clicked is None:
        return None, None
    seen = _after(events, clicked, lambda e: e[1] == "status" and e[2] in statuses)
    return (round((seen[0] - clicked) / 1000, 2), seen[2]) if seen else (None, None)


def _training(events: list, clicked: float | None) -> float | None:
    """Seconds from a click to the first step the page counts after it: the run really trains.
    (The status tile alone is no proof: a run over the cap may say "running" until it finds no
    free slot.)"""
    if clicked is None:
        return None
    counted = _step_at(events, clicked)
    seen = _after(events, clicked, lambda e: e[1] == "step" and e[2] > counted)
    return round((seen[0] - clicked) / 1000, 2) if seen else None


def _step_at(events: list, moment: float) -> int:
    steps = [e[2] for e in events if e[1] == "step" and e[0] <= moment]
    return steps[-1] if steps else 0


def student_figures(student: Student, window: tuple[float, float, float]) -> dict:
    """One student's timings (s) and fairness from their page's log (times in ms since epoch);
    ``window``: its start, the fairness span's start and its end (s since epoch)."""
    window_start, fair_from, window_end = window
    row: dict[str, Any] = {"student": student.index + 1, "preset": student.preset, "pauser": student.pauser,
                           "failure": student.failure}
    log = student.log
    if not log:
        return row
    since_nav = lambda t: None if t is None else round((t - log["nav"]) / 1000, 2)   # noqa: E731
    events, plays, pauses = log["events"], _clicks(log["events"], "play"), _clicks(log["events"], "pause")
    first_play = plays[0] if plays else None
    row.update(first_render_s=since_nav(log["title"]), play_ready_s=since_nav(log["playReady"]))
    row["play_to_answer_s"], row["first_answer"] = _response(events, first_play, ACK)
    row["play_to_running_s"] = _training(events, first_play)
    if pauses:
        row["pause_to_paused_s"] = _response(events, pauses[0], ("paused",))[0]
        row["paused_at_window_s"] = round(pauses[0] / 1000 - window_start, 1)   # the schedule said PAUSE_AT
        replay = next((t for t in plays if t > pauses[0]), None)
        row["replay_to_answer_s"], row["replay_first_answer"] = _response(events, replay, ACK)
        row["replay_to_running_s"] = _training(events, replay)
        row["replayed_at_window_s"] = replay and round(replay / 1000 - window_start, 1)
    start, end = _step_at(events, fair_from * 1000), _step_at(events, window_end * 1000)
    row.update(fair_steps=end - start, advanced=end > start, status_at_end=_status_at(events, window_end * 1000),
               statuses=[[since_nav(e[0]), e[2]] for e in events if e[1] == "status"],
               clicks=[[since_nav(e[0]), e[2]] for e in events if e[1] == "click"],
               window_from_nav_s=[since_nav(fair_from * 1000), since_nav(window_end * 1000)])
    return row


def _status_at(events: list, moment: float) -> str | None:
    statuses = [e[2] for e in events if e[1] == "status" and e[0] <= moment]
    return statuses[-1] if statuses else None


def spread(values: list[float | None]) -> dict:
    """Median, p90 (nearest rank) and max of the values measured; n counts them."""
    got = sorted(v for v in values if v is not None)
    if not got:
        return {"n": 0, "median": None, "p90": None, "max": None}
    return {"n": len(got), "median": round(statistics.median(got), 2),
            "p90": percentile(got, 0.9), "max": got[-1]}


TIMINGS = (("first_render_s", "first render (title shown), from navigation"),
           ("play_ready_s", "Play button enabled, from navigation"),
           ("play_to_answer_s", "Play → running or queued"),
           ("play_to_running_s", "Play → running (first step counted)"),
           ("pause_to_paused_s", "Pause → paused"),
           ("replay_to_answer_s", "Play again → running or queued"),
           ("replay_to_running_s", "Play again → running (first step counted)"))


def costs(before: Reading, after: Reading, baseline_mb: float, students: int) -> dict:
    """Server CPU and memory over the window, per connected student; the browser's apart."""
    wall = after.wall - before.wall
    cores = lambda attr: (getattr(after, attr) - getattr(before, attr)) / wall   # noqa: E731
    return {"window_wall_s": round(wall, 1),
            "server_cores": round(cores("server_cpu"), 3),
            "server_cores_per_student": round(cores("server_cpu") / students, 4),
            "streamlit_process_cores": round(cores("streamlit_cpu"), 3),
            "streamlit_share_of_server": round(cores("streamlit_cpu") / max(cores("server_cpu"), 1e-9), 3),
            "browser_cores": round(cores("browser_cpu"), 3),
            "machine_busy_cores": round(cores("machine_busy"), 3),
            "server_pss_before_mb": round(baseline_mb),
            "server_pss_end_mb": round(after.pss_mb),
            "pss_per_session_mb": round((after.pss_mb - baseline_mb) / students, 1),
            "run_processes_end": after.runs, "run_processes_pss_mb": round(after.runs_pss_mb),
            "machine_cpu_stolen": steal_share(before.machine, after.machine),
            "load_avg_at_end": os.getloadavg()}


def machine() -> dict:
    """What the figures were measured on (a shared machine's load is part of the answer)."""
    model = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                  if line.startswith("model name")), platform.processor())
    mem_kb = int(Path("/proc/meminfo").read_text().split()[1])
    return {"date": time.strftime("%Y-%m-%d %H:%M %Z"), "cores": os.cpu_count(), "cpu": model,
            "memory_gb": round(mem_kb / 2**20, 1), "load_avg_at_start": os.getloadavg(),
            "python": platform.python_version(), "run_slots": SLOTS.limit}


# ------------------------------------------------------------------------------------------ the run
STARTED = time.monotonic()


def progress(line: str) -> None:
    """A timestamped line on stderr: a class takes minutes, and the table comes only at the end."""
    print(f"[{time.monotonic() - STARTED:6.1f} s] {line}", file=sys.stderr, flush=True)


def run(students: int, seconds: float, presets: list[str], fair_span: float) -> dict:
    """The whole class on a server and a Chromium of its own."""
    with tempfile.TemporaryDirectory() as tmp, running_app(Path(tmp) / "server.log") as url:
        with launched_chromium() as browser:
            return measure_class(browser, url, students, seconds, presets, fair_span)


def measure_class(browser, url: str, students: int, seconds: float, presets: list[str], fair_span: float) -> dict:
    """Arrive, train for ``seconds``, leave, with ``browser`` on the app at ``url`` (one nobody else
    uses meanwhile); every figure as one dict."""
    facts, server = machine(), server_pid(url)
    progress(f"server up ({url}, pid {server})")
    baseline = pss_mb(server_tree(server))
    class_ = [Student(i, presets[i % len(presets)], i % PAUSER_EVERY == 1) for i in range(students)]
    arrive(class_, browser, url)
    progress(f"every student pressed Play and got an answer; a {seconds:.0f} s window starts")
    before = Reading.take(server)
    play_window(class_, seconds)
    after = Reading.take(server)
    collect_logs(class_)
    closed_in, left = close_tabs(class_, server)
    progress(f"tabs closed; run processes left: {len(left)}")
    rows = [student_figures(s, (before.wall, after.wall - fair_span, after.wall)) for s in class_]
    return {"machine": facts, "students": students, "seconds": seconds, "fair_span_s": fair_span,
            "presets": presets, "summary": {key: spread([r.get(key) for r in rows]) for key, _ in TIMINGS},
            "advanced": sum(bool(r.get("advanced")) for r in rows),
            "first_answer_queued": sum(r.get("first_answer") in QUEUED for r in rows),
            "failed": sum(r["failure"] is not None for r in rows),
            "costs": costs(before, after, baseline, students),
            "close": {"run_processes_gone_s": round(closed_in, 2), "left": len(left)}, "rows": rows}


# --------------------------------------------------------------------------------------- the report
def _s(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f}"


def summary_table(result: dict) -> str:
    lines = ["| measure (s) | median | p90 | max | measured |", "|---|---:|---:|---:|---:|"]
    for key, label in TIMINGS:
        got = result["summary"][key]
        lines.append(f"| {label} | {_s(got['median'])} | {_s(got['p90'])} | {_s(got['max'])} | "
                     f"{got['n']} of {result['students']} |")
    return "\n".join(lines)


def cost_lines(result: dict) -> str:
    c, n, close = result["costs"], result["students"], result["close"]
    stolen = "?" if c["machine_cpu_stolen"] is None else f"{100 * c['machine_cpu_stolen']:.0f} %"
    return "\n".join([
        f"- runs that advanced in the window's last {result['fair_span_s']:g} s: **{result['advanced']} of {n}**"
        f" (first answer to Play was 'queued' for {result['first_answer_queued']}; "
        f"failed students: {result['failed']})",
        f"- server CPU (streamlit + run processes) over {c['window_wall_s']} s: {c['server_cores']:.2f} cores, "
        f"**{c['server_cores_per_student']:.3f} cores per student**; the streamlit process alone "
        f"{c['streamlit_process_cores']:.2f} cores ({100 * c['streamlit_share_of_server']:.0f} % of the server's)",
        f"- Chromium (all {n} students' tabs, not server cost): {c['browser_cores']:.2f} cores; "
        f"the whole machine was busy {c['machine_busy_cores']:.2f} cores of {os.cpu_count()} (the rest: other "
        f"users, this driver); stolen by the host: {stolen}; load average at the window's end "
        f"{' '.join(f'{v:.2f}' for v in c['load_avg_at_end'])}",
        f"- server memory (PSS): {c['server_pss_before_mb']} MB before anyone connected, "
        f"{c['server_pss_end_mb']} MB at the window's end: **{c['pss_per_session_mb']:.0f} MB per session** "
        f"(of which the {c['run_processes_end']} run processes: {c['run_processes_pss_mb']} MB)",
        f"- after the tabs closed, every run process was gone in {close['run_processes_gone_s']:.1f} s"
        if not close["left"] else
        f"- **{close['left']} run processes still alive {CLOSE_LIMIT_S:.0f} s after the tabs closed**"])


def _at(second: float | None) -> str:
    return "–" if second is None else f"+{second:.0f} s"


def student_table(result: dict) -> str:
    lines = ["| # | preset | render | Play ready | Play → answer | Play → running "
             "| Pause → paused (pressed at, in the window) | Play again → answer (pressed at) | steps in last span | status at end | failure |",
             "|---:|---|---:|---:|---|---:|---|---|---:|---|---|"]
    for r in result["rows"]:
        answer = lambda k, w: f"{_s(r.get(k))} {r.get(w) or '–'}"   # noqa: E731
        replay = answer("replay_to_answer_s", "replay_first_answer") if r["pauser"] else ""
        paused = f"{_s(r.get('pause_to_paused_s'))} (at {_at(r.get('paused_at_window_s'))})" if r["pauser"] else ""
        replay += f" (at {_at(r.get('replayed_at_window_s'))})" if r["pauser"] else ""
        lines.append(f"| {r['student']} | {r['preset']} | {_s(r.get('first_render_s'))} | "
                     f"{_s(r.get('play_ready_s'))} | {answer('play_to_answer_s', 'first_answer')} | "
                     f"{_s(r.get('play_to_running_s'))} | {paused} | {replay} | {r.get('fair_steps', '–')} | "
                     f"{r.get('status_at_end') or '–'} | {r['failure'] or ''} |")
    return "\n".join(lines)


def machine_line(facts: dict) -> str:
    load = " ".join(f"{v:.2f}" for v in facts["load_avg_at_start"])
    return (f"{facts['date']}; {facts['cores']} cores ({facts['cpu']}), {facts['memory_gb']} GB; load average "
            f"at start {load}; Python {facts['python']}; run slots (GAN_PLAYGROUND_MAX_RUNS) {facts['run_slots']}")


def report(result: dict) -> str:
    head = f"{result['students']} students, {result['seconds']:.0f} s window — {machine_line(result['machine'])}"
    return "\n\n".join([head, summary_table(result), cost_lines(result), student_table(result)])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.classroom", description=__doc__.split("\n")[0])
    parser.add_argument("--students", type=int, help=f"browser sessions (default {QUICK_STUDENTS} with --quick)")
    parser.add_argument("--seconds", type=float, help=f"the measuring window (default 90; {QUICK_SECONDS:g} with --quick)")
    parser.add_argument("--presets", nargs="+", default=DEFAULT_PRESETS, choices=list(PRESETS), metavar="PRESET",
                        help="cycled through the students")
    parser.add_argument("--quick", action="store_true",
                        help=f"CI: {QUICK_STUDENTS} students, a {QUICK_SECONDS:g} s window, every figure")
    parser.add_argument("--json", type=Path, help="also write every figure here")
    args = parser.parse_args(argv)
    # A run in the background ignores Ctrl-C's signal: stopping it with SIGTERM must still close
    # the server, its run processes and Chromium (the context managers' exits).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    if args.students is None and not args.quick:
        parser.error("--students is required (or --quick)")
    students = args.students or QUICK_STUDENTS
    seconds = args.seconds or (QUICK_SECONDS if args.quick else 90.0)
    fair_span = seconds / 2 if args.quick else min(FAIR_SPAN_S, seconds * 2 / 3)
    result = run(students, seconds, args.presets, fair_span)
    print(report(result))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    if result["close"]["left"]:
        print(f"error: {result['close']['left']} run processes outlived their tabs by {CLOSE_LIMIT_S:.0f} s",
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
