"""``python -m benchmarks``: losskit against the losses people use today, in one table.

For each case (:mod:`benchmarks.cases`) losskit's forward + backward time and peak
memory sit next to each peer's (PyTorch, MONAI, kornia, Keras 3, optax under jax.jit),
measured in the same run, with the ratios and the targets of issue 4.  The table is
printed and written, with the machine and the date, to ``benchmarks/README.md``.
Installs nothing: the peers come from the ``bench`` extra (``make bench``).

Options: ``--only NAME`` (a substring of case names, repeatable), ``--rounds N`` (timed
rounds per case), ``--no-write`` (print only).  The method is :data:`METHOD`.
"""

from __future__ import annotations

import argparse
import datetime
import gc
import importlib.metadata
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

THREADS = 2
#: glibc's allocator for the timed steps: every block from the heap, freed memory kept
#: there (see METHOD: by default the cases' 28 to 32 MB blocks were mapped fresh or reused
#: depending on the heap's history, and the medians jumped between the two)
TIMING_ALLOCATOR_ENV = {
    "MALLOC_MMAP_THRESHOLD_": str(2**30),
    "MALLOC_TRIM_THRESHOLD_": str(2**34),
}
#: for peak memory every block of 64 KiB or more is mapped, so the resident set follows the
#: live tensors (see METHOD)
MEMORY_ALLOCATOR_ENV = {"MALLOC_MMAP_THRESHOLD_": "65536"}
#: Backends whose peak memory the resident-set method cannot see: TensorFlow's allocator
#: keeps the memory of the warm-up steps, so a step's growth reads 0 for every library.
UNMEASURED_MEMORY = ("tensorflow",)
MIB = 2**20
README = Path(__file__).with_name("README.md")
METHOD = f"""\
Every case is timed in a fresh worker process, one case after the other, with
torch.set_num_threads({THREADS}) (JAX runs on the same two cores).  All implementations
of a case share the same float32 inputs, built once in the worker; a step is one
forward and one backward pass (the loss and its gradient with respect to the
predictions; for JAX, `jax.jit(jax.value_and_grad(loss))` with `block_until_ready`).

- **Time**: after two warm-up steps per implementation (JAX compiles there), the worker
  runs rounds that time every implementation once, in an order that rotates from round
  to round, so that the load of the machine falls on all of them alike (fast cases time
  2 to 4 consecutive steps per sample and divide).  The table gives each
  implementation's median time; the time ratio is the median over the rounds of
  losskit's time over the peer's in the same round (paired, so that slow drifts of the
  machine's load fall on both sides of each ratio).  Each sample follows one untimed
  step of the same implementation, as a training step follows a step of the same loss:
  the memory allocator is then in the state the loss itself leaves (without it, a step
  that follows a hungrier library's step pays for that library's returned memory).
  The timing workers keep freed memory in glibc's heap (`MALLOC_MMAP_THRESHOLD_=2^30`,
  `MALLOC_TRIM_THRESHOLD_=2^34`), as in the steady state of a training loop: by default a
  block of 28 to 32 MB (these cases' size) is mapped fresh or reused depending on the
  heap's history, and the page faults of a fresh one (about 7 ms) made the medians jump
  between two modes from run to run.  A JAX case's rounds are split between three worker
  processes (11 each) and pooled: XLA's step time depends on the process (at 8M
  elements, the same compiled step takes 17 ms for the life of one process and 29 ms in
  another, for optax and losskit alike), so one process is one draw of that.
- **Peak memory**: one more worker per library (PyTorch, JAX), started with
  `MALLOC_MMAP_THRESHOLD_=65536` so that every block of 64 KiB or more is mapped on
  allocation and unmapped on release (the resident set then follows the live tensors),
  takes the cases one after the other: it builds a case's inputs, warms every
  implementation up, then for each one: drops the gradient, reads the resident set size (`VmRSS`), resets the
  kernel's high-water mark (`echo 5 > /proc/self/clear_refs`), runs one step and reads
  the high-water mark (`VmHWM`).  Peak memory is the growth: everything the step
  allocates beyond the inputs (intermediates, saved activations, the gradient), the
  same way for PyTorch, MONAI, kornia, Keras and XLA's allocations.  The smaller of two
  such measurements is reported.  TensorFlow's allocator keeps what the warm-up steps
  took, so its growth reads 0 for every implementation: its memory columns read `-`."""


# ---------------------------------------------------------------------------- worker


def _status(key: str) -> int:
    """A field of /proc/self/status, in bytes."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(key):
                return int(line.split()[1]) * 1024
    raise RuntimeError(f"{key} not in /proc/self/status")


def _reset_peak() -> None:
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")


def _warm(steps: dict[str, Any]) -> None:
    for step, reset in steps.values():
        for _ in range(2):
            reset()
            step()


def _time_case(case_name: str, rounds: int) -> dict[str, list[float]]:
    """Step times per implementation, one per round, rounds in rotating order; each sample
    times ``case.steps`` consecutive steps after one untimed step of the same
    implementation (a step in training follows a step of the same loss, not another
    library's: the allocator's state is then the loss's own)."""
    from benchmarks.cases import CASES

    case = next(c for c in CASES if c.name == case_name)
    if case.backend == "torch":
        import torch

        torch.set_num_threads(THREADS)
    steps = case.build()
    _warm(steps)
    times: dict[str, list[float]] = {label: [] for label in steps}
    labels = list(steps)
    for r in range(rounds):
        for label in labels[r % len(labels) :] + labels[: r % len(labels)]:
            step, reset = steps[label]
            gc.collect()
            reset()
            step()
            elapsed = 0.0
            for _ in range(case.steps):
                reset()
                start = time.perf_counter()
                step()
                elapsed += time.perf_counter() - start
            times[label].append(elapsed / case.steps)
    return times


def _memory_cases(case_names: list[str]) -> dict[str, dict[str, int]]:
    """Peak memory growth of one step, per case and implementation (see METHOD)."""
    from benchmarks.cases import CASES

    if any(c.backend == "torch" for c in CASES if c.name in case_names):
        import torch

        torch.set_num_threads(THREADS)
    results: dict[str, dict[str, int]] = {}
    for name in case_names:
        steps = next(c for c in CASES if c.name == name).build()
        _warm(steps)
        results[name] = {}
        for label, (step, reset) in steps.items():
            peaks = []
            for _ in range(2):
                reset()
                gc.collect()
                before = _status("VmRSS:")
                _reset_peak()
                step()
                peaks.append(_status("VmHWM:") - before)
            results[name][label] = min(peaks)
        del steps
        gc.collect()
    return results


def _worker(mode: str, *args: Any) -> Any:
    return _time_case(*args) if mode == "time" else _memory_cases(*args)


# ------------------------------------------------------------------------ the parent


def _run_worker(env_extra: dict[str, str], mode: str, *args: Any) -> Any:
    env = dict(os.environ, OMP_NUM_THREADS=str(THREADS), **env_extra)
    env.update(MEMORY_ALLOCATOR_ENV if mode == "memory" else TIMING_ALLOCATOR_ENV)
    command = [sys.executable, "-m", "benchmarks", "--worker", json.dumps([mode, *args])]
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"benchmark worker {mode} {args} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _cpu() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def _memory_total() -> str:
    try:
        with open("/proc/meminfo") as f:
            kib = int(f.readline().split()[1])
        return f"{kib / 2**20:.0f} GiB RAM"
    except (OSError, ValueError, IndexError):
        return "unknown RAM"


def _versions() -> str:
    names = ("torch", "numba", "jax", "optax", "tensorflow-cpu", "keras", "monai", "kornia")
    found = []
    for name in names:
        try:
            found.append(f"{name} {importlib.metadata.version(name)}")
        except importlib.metadata.PackageNotFoundError:
            found.append(f"{name} (not installed)")
    return ", ".join(found)


def _time_ratio(ours: list[float], peer: list[float]) -> float:
    """Median over rounds of losskit's time over the peer's in the same round: paired, so
    that the machine's slow drifts of load fall on both sides of each ratio."""
    return statistics.median(a / b for a, b in zip(ours, peer, strict=True))


def _check(
    target: Any, case_times: dict[str, list[float]], memory: dict[str, int]
) -> tuple[bool, str]:
    """(whether the target holds against the best listed peer, that peer)."""
    if target.metric == "time":
        best = min(target.peers, key=lambda p: statistics.median(case_times[p]))
        ratio = _time_ratio(case_times["losskit"], case_times[best])
    else:
        best = min(target.peers, key=lambda p: memory[p])
        ratio = memory["losskit"] / max(memory[best], 1)
    return ratio <= target.ratio, best


def _memory_columns(ours: int | None, peer: int | None) -> list[str]:
    """losskit's and the peer's MiB and their ratio; ``-`` where not measured."""
    if ours is None or peer is None:
        return ["-", "-", "-"]
    return [f"{ours / MIB:.0f}", f"{peer / MIB:.0f}", f"{ours / max(peer, 1):.2f}"]


def _format_rows(
    case: Any, case_times: dict[str, list[float]], memory: dict[str, int]
) -> list[list[str]]:
    times = {label: statistics.median(t) for label, t in case_times.items()}
    ours_t, ours_m = times["losskit"], memory.get("losskit")
    checks = {t.metric: _check(t, case_times, memory) for t in case.targets}
    rows = []
    for peer in case.peers:
        verdicts = []
        for target in case.targets:
            holds, best = checks[target.metric]
            if best == peer:
                verdicts.append(
                    f"{target.metric} <= {target.ratio:g}: {'met' if holds else 'NOT MET'}"
                )
        rows.append(
            [
                f"{case.name} ({case.shape})",
                peer,
                f"{ours_t * 1e3:.1f}",
                f"{times[peer] * 1e3:.1f}",
                f"{_time_ratio(case_times['losskit'], case_times[peer]):.2f}",
                *_memory_columns(ours_m, memory.get(peer)),
                "; ".join(verdicts) or "-",
            ]
        )
    return rows


HEADER = [
    "case",
    "peer",
    "losskit ms",
    "peer ms",
    "time ratio",
    "losskit MiB",
    "peer MiB",
    "memory ratio",
    "target",
]


def _markdown(rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
    return lines + ["| " + " | ".join(r) + " |" for r in rows]


def _plain(rows: list[list[str]]) -> str:
    widths = [max(len(r[i]) for r in [HEADER, *rows]) for i in range(len(HEADER))]
    fmt = "  ".join(f"{{:{'<' if i < 2 else '>'}{w}}}" for i, w in enumerate(widths))
    return "\n".join(fmt.format(*r) for r in [HEADER, *rows])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--only", action="append", default=[], help="run cases whose name contains this"
    )
    parser.add_argument("--rounds", type=int, default=None, help="timed rounds per case")
    parser.add_argument("--no-write", action="store_true", help=f"do not write {README.name}")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        print(json.dumps(_worker(*json.loads(args.worker))))
        return

    from benchmarks.cases import CASES

    cases = [
        c for c in CASES if not args.only or any(o.lower() in c.name.lower() for o in args.only)
    ]
    started = time.perf_counter()
    load_before = os.getloadavg()[0]
    rows: list[list[str]] = []
    failed: list[str] = []
    memory: dict[str, dict[str, int]] = {}
    for backend in ("torch", "jax", "tensorflow"):
        names = [c.name for c in cases if c.backend == backend]
        if backend in UNMEASURED_MEMORY:
            memory.update({name: {} for name in names})
        elif names:
            print(f"peak memory, {backend} cases ...", file=sys.stderr, flush=True)
            env = {k: v for c in cases if c.name in names for k, v in c.env.items()}
            memory.update(_run_worker(env, "memory", names))
    for number, case in enumerate(cases, 1):
        elapsed = time.perf_counter() - started
        print(
            f"[{number}/{len(cases)}, {elapsed:.0f} s] {case.name} ({case.shape}) ...",
            file=sys.stderr,
            flush=True,
        )
        rounds = math.ceil((args.rounds or case.rounds) / case.workers)
        times: dict[str, list[float]] = {}
        for _ in range(case.workers):
            for label, samples in _run_worker(case.env, "time", case.name, rounds).items():
                times.setdefault(label, []).extend(samples)
        case_rows = _format_rows(case, times, memory[case.name])
        rows += case_rows
        failed += [
            f"{case.name}: {v}" for r in case_rows for v in r[-1].split("; ") if "NOT MET" in v
        ]
    elapsed = time.perf_counter() - started
    load_after = os.getloadavg()[0]
    print(_plain(rows))
    summary = (
        "all targets met"
        if not failed
        else f"{len(failed)} target(s) not met: " + "; ".join(failed)
    )
    print(f"\n{summary}\n{elapsed:.0f} s, load average {load_before:.1f} -> {load_after:.1f}")
    if args.no_write or args.only:
        return
    _write_readme(rows, summary, elapsed, load_before, load_after)


def _write_readme(
    rows: list[list[str]], summary: str, elapsed: float, load_before: float, load_after: float
) -> None:
    from benchmarks.notes import NOTES

    now = datetime.datetime.now().astimezone()
    lines = [
        "# Benchmarks",
        "",
        "`make bench` (or `python -m benchmarks` with the `bench` extra installed) measures",
        "losskit against the losses people use today and rewrites this file.",
        "",
        f"- date: {now:%Y-%m-%d %H:%M %Z}",
        f"- machine: {_cpu()}, {os.cpu_count()} cores, {_memory_total()}, {platform.system()} "
        f"{platform.release()}; {THREADS} threads",
        f"- software: Python {platform.python_version()}, {_versions()}",
        f"- run: {elapsed:.0f} s; load average {load_before:.1f} before, {load_after:.1f} after "
        "(other work on the machine shows in the times)",
        "",
        "Ratios are losskit / peer: below 1, losskit is faster or leaner.  A target against",
        '"best of" several peers is checked against the fastest (time) or the leanest',
        "(memory) of them, on that peer's row.",
        "",
        *_markdown(rows),
        "",
        f"**{summary}.**",
        "",
        "## Method",
        "",
        METHOD,
        "",
        "## Notes",
        "",
        *NOTES,
        "",
        "The linear cross-entropy benchmark has its own script and report: "
        "`python -m benchmarks.linear_cross_entropy` (`linear_cross_entropy.md`).",
        "",
    ]
    README.write_text("\n".join(lines))
    print(f"wrote {README}", file=sys.stderr)


if __name__ == "__main__":
    main()
