"""Benchmark: losskit's chunked linear cross-entropy against the unfused computation.

Run ``python -m benchmarks.linear_cross_entropy`` (about 2.5 minutes on 2 idle cores) or add
``--quick`` for tiny sizes (seconds).  The full run writes its table to
``benchmarks/linear_cross_entropy.md``.

How it measures is :data:`METHOD`.
"""

from __future__ import annotations

import argparse
import datetime
import importlib.util
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

THREADS = 2
METHOD = """\
Every step runs in a fresh Python process with torch.set_num_threads(2), and the
implementations alternate (A B, B A, A B, ...) so that other work on the machine weighs
on all of them alike.  The process builds the inputs in place (no temporaries), warms up
on tiny inputs, reads its resident set size (RSS, from /proc/self/statm), then runs one
forward + backward step.  Extra peak memory is the process's peak RSS after the step
(resource.getrusage().ru_maxrss, which sees every allocation, torch's and MKL's
included, unlike tracemalloc) minus the RSS just before it: logits, softmax, gradients,
whatever the step needs beyond its inputs.  PyTorch's CPU allocator hands large blocks
back to the system when they are freed, so RSS follows the live tensors.  Time is the
wall-clock time of the step; the table gives the medians over the rounds."""
MIB = 2**20
RESULTS = Path(__file__).with_suffix(".md")
TARGET_MEMORY, TARGET_TIME = 0.2, 1.1
# One round at vocabulary 128,000 (30 to 50 s unfused) keeps the whole run near 2.5 minutes.
FULL = {"tokens": 4096, "hidden": 1024, "vocabs": (32_000, 128_000), "rounds": (3, 1)}
QUICK = {"tokens": 512, "hidden": 64, "vocabs": (2_000, 8_000), "rounds": (3, 3)}


def _rss_bytes() -> int:
    """Current resident set size, from /proc/self/statm (pages)."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _peak_rss_bytes() -> int:
    # ru_maxrss is in KiB on Linux.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _loss_fn(impl: str, chunk_size: int | None) -> Any:
    if impl == "unfused":
        return lambda h, w, y: F.cross_entropy(h @ w.T, y)
    if impl == "losskit":
        from losskit.torch.linear_cross_entropy import linear_cross_entropy

        return lambda h, w, y: linear_cross_entropy(h, w, y, chunk_size=chunk_size)
    from cut_cross_entropy import linear_cross_entropy as cce

    return lambda h, w, y: cce(h, w, y, impl="torch_compile")


def _inputs(tokens: int, hidden: int, vocab: int) -> tuple[torch.Tensor, ...]:
    """Inputs filled in place, so building them leaves no peak above the final RSS."""
    gen = torch.Generator().manual_seed(0)
    h = torch.empty(tokens, hidden).normal_(generator=gen).requires_grad_()
    w = torch.empty(vocab, hidden).normal_(std=hidden**-0.5, generator=gen).requires_grad_()
    y = torch.empty(tokens, dtype=torch.long).random_(vocab, generator=gen)
    return h, w, y


def worker(impl: str, tokens: int, hidden: int, vocab: int, chunk: int | None) -> dict:
    """One step in this (fresh) process: its extra peak memory and its time."""
    torch.set_num_threads(THREADS)
    loss_fn = _loss_fn(impl, chunk)
    h, w, y = _inputs(64, 16, 100)
    loss_fn(h, w, y).backward()
    h, w, y = _inputs(tokens, hidden, vocab)
    rss_before, peak_before = _rss_bytes(), _peak_rss_bytes()
    start = time.perf_counter()
    loss_fn(h, w, y).backward()
    seconds = time.perf_counter() - start
    return {
        "seconds": seconds,
        "extra_bytes": _peak_rss_bytes() - rss_before,
        # Had building the inputs peaked above the RSS before the step, the figure above
        # would over-state the step's memory: the margin is kept so it can be checked.
        "pre_step_peak_margin_bytes": max(peak_before - rss_before, 0),
    }


def _run_step(impl: str, config: dict, vocab: int, chunk: int | None) -> dict:
    args = [impl, config["tokens"], config["hidden"], vocab, chunk]
    cmd = [sys.executable, "-m", "benchmarks.linear_cross_entropy", "--worker", json.dumps(args)]
    env = dict(os.environ, OMP_NUM_THREADS=str(THREADS))
    src = str(Path(__file__).resolve().parents[1] / "src")
    env["PYTHONPATH"] = os.pathsep.join(p for p in (src, env.get("PYTHONPATH")) if p)
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    if out.returncode != 0:
        raise RuntimeError(f"{impl} at vocabulary {vocab} failed:\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def _run_case(
    impls: list[str], config: dict, vocab: int, rounds: int, chunk: int | None
) -> list[dict]:
    """Alternating one-step processes; one result per implementation, with every round."""
    results = {impl: {"impl": impl, "vocab": vocab, "times": [], "extras": []} for impl in impls}
    for r in range(rounds):
        for impl in impls if r % 2 == 0 else impls[::-1]:
            step = _run_step(impl, config, vocab, chunk)
            margin = step["pre_step_peak_margin_bytes"]
            if margin > 0.01 * step["extra_bytes"]:
                print(
                    f"  warning: {impl} peaked {margin / MIB:.0f} MiB before its step", flush=True
                )
            results[impl]["times"].append(step["seconds"])
            results[impl]["extras"].append(step["extra_bytes"])
            print(
                f"  {impl:8s} V={vocab:>7,}: {step['extra_bytes'] / MIB:8,.0f} MiB, "
                f"{step['seconds']:.2f} s",
                flush=True,
            )
    for result in results.values():
        result["extra_bytes"] = statistics.median(result["extras"])
    return list(results.values())


def _machine() -> str:
    model = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            model = next(line.split(":", 1)[1].strip() for line in f if "model name" in line)
    except (OSError, StopIteration):
        pass
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return (
        f"{model}, {os.cpu_count()} cores, {memory:.0f} GiB, {platform.system()} "
        f"{platform.release()}, Python {platform.python_version()}, torch {torch.__version__}, "
        f"{THREADS} threads"
    )


def _table(results: list[dict], config: dict) -> list[str]:
    head = (
        "| vocabulary | implementation | extra peak memory (MiB) | memory ratio "
        "| median time (s) | time ratio | rounds |"
    )
    lines = [head, "|---:|---|---:|---:|---:|---:|---:|"]
    for vocab in config["vocabs"]:
        rows = [r for r in results if r["vocab"] == vocab]
        base = next(r for r in rows if r["impl"] == "unfused")
        base_time = statistics.median(base["times"])
        for r in rows:
            t = statistics.median(r["times"])
            lines.append(
                f"| {vocab:,} | {r['impl']} | {r['extra_bytes'] / MIB:,.0f} "
                f"| {r['extra_bytes'] / base['extra_bytes']:.3f} | {t:.2f} "
                f"| {t / base_time:.3f} | {len(r['times'])} |"
            )
    return lines


def _verdict(results: list[dict], config: dict) -> list[str]:
    lines = []
    for vocab in config["vocabs"]:
        base = next(r for r in results if r["vocab"] == vocab and r["impl"] == "unfused")
        ours = next(r for r in results if r["vocab"] == vocab and r["impl"] == "losskit")
        mem = ours["extra_bytes"] / base["extra_bytes"]
        tim = statistics.median(ours["times"]) / statistics.median(base["times"])
        lines.append(
            f"- vocabulary {vocab:,}: memory ratio {mem:.3f} "
            f"({'meets' if mem <= TARGET_MEMORY else 'misses'} <= {TARGET_MEMORY}), time ratio "
            f"{tim:.3f} ({'meets' if tim <= TARGET_TIME else 'misses'} <= {TARGET_TIME})"
        )
    return lines


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes, a few seconds")
    parser.add_argument("--chunk-size", type=int, default=None, help="losskit's chunk_size")
    parser.add_argument("--output", type=Path, default=None, help="markdown file to write")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        print(json.dumps(worker(*json.loads(args.worker))))
        return
    config = QUICK if args.quick else FULL
    impls = ["unfused", "losskit"]
    skipped = ""
    if importlib.util.find_spec("cut_cross_entropy") is not None:
        impls.append("cce")
    else:
        skipped = "Cut Cross-Entropy: skipped (package `cut_cross_entropy` is not installed)."
    started, load_before = time.perf_counter(), os.getloadavg()[0]
    results = []
    for vocab, rounds in zip(config["vocabs"], config["rounds"], strict=True):
        results += _run_case(impls, config, vocab, rounds, args.chunk_size)
    elapsed = time.perf_counter() - started
    cmd = "python -m benchmarks.linear_cross_entropy" + (" --quick" if args.quick else "")
    if args.chunk_size is not None:
        cmd += f" --chunk-size {args.chunk_size}"
    chunk = args.chunk_size if args.chunk_size is not None else "auto"
    report = [
        "# Linear cross-entropy benchmark",
        "",
        f"- date: {datetime.datetime.now().astimezone():%Y-%m-%d %H:%M %Z}",
        f"- machine: {_machine()}",
        f"- command: `{cmd}` ({elapsed:.0f} s in all; 1-minute load average "
        f"{load_before:.1f} before, {os.getloadavg()[0]:.1f} after: other work on the machine "
        "slows both implementations and blurs the time ratio)",
        f"- case: float32, {config['tokens']} tokens, hidden size {config['hidden']}, "
        f"mean reduction, forward + backward; losskit chunk_size={chunk}",
        "- unfused: `F.cross_entropy(hidden @ weight.T, target)`",
        f"- method: {' '.join(METHOD.split())}",
        "- ratios: losskit (or Cut Cross-Entropy) divided by unfused, measured in the same run; "
        f"targets: memory <= {TARGET_MEMORY}, time <= {TARGET_TIME}.",
        "",
        *_table(results, config),
        "",
        *_verdict(results, config),
    ]
    if skipped:
        report += ["", skipped]
    text = "\n".join(report) + "\n"
    print(text)
    print("\n".join(textwrap.wrap(" ".join(METHOD.split()), 88)))
    output = args.output if args.output is not None else (None if args.quick else RESULTS)
    if output is not None:
        output.write_text(text)
        print(f"written to {output}")


if __name__ == "__main__":
    main()
