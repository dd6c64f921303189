"""Benchmark: losskit's chunked linear cross-entropy against PyTorch's own chunked
``F.linear_cross_entropy`` and the unfused computation, and losskit's JAX version
against the unfused ``jnp`` step.

Run ``python -m benchmarks.linear_cross_entropy`` (about 15 minutes on 2 idle cores) or add
``--quick`` for tiny sizes (seconds); ``--impls torch-unfused,losskit,...`` runs some of
them.  The full run writes its table to ``benchmarks/linear_cross_entropy.md``.

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
wall-clock time of the step; the table gives the medians over the rounds.  JAX steps
(jax.jit(jax.value_and_grad(loss)) with respect to hidden and weight) are compiled
first (jit(...).lower(...).compile()); their memory is XLA's temporaries for the
compiled step (memory_analysis().temp_size_in_bytes: everything beyond the inputs and
the outputs, the loss and the two gradients), their time one call of the compiled step
up to block_until_ready."""
MIB = 2**20
RESULTS = Path(__file__).with_suffix(".md")
TARGET_MEMORY, TARGET_TIME = 0.2, 1.1  # losskit against the unfused step
TARGET_PEER = 1.0  # losskit against PyTorch's F.linear_cross_entropy, memory and time
TORCH_IMPLS = ("unfused", "losskit", "torch")
JAX_IMPLS = ("jax-unfused", "jax-losskit")
IMPLS = (*TORCH_IMPLS, *JAX_IMPLS)
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
    if impl == "torch":
        options = torch.nn.LinearCrossEntropyOptions()
        return lambda h, w, y: F.linear_cross_entropy(h, w, y, options=options)
    from cut_cross_entropy import linear_cross_entropy as cce

    return lambda h, w, y: cce(h, w, y, impl="torch_compile")


def _inputs(tokens: int, hidden: int, vocab: int) -> tuple[torch.Tensor, ...]:
    """Inputs filled in place, so building them leaves no peak above the final RSS."""
    gen = torch.Generator().manual_seed(0)
    h = torch.empty(tokens, hidden).normal_(generator=gen).requires_grad_()
    w = torch.empty(vocab, hidden).normal_(std=hidden**-0.5, generator=gen).requires_grad_()
    y = torch.empty(tokens, dtype=torch.long).random_(vocab, generator=gen)
    return h, w, y


def _jax_worker(impl: str, tokens: int, hidden: int, vocab: int, chunk: int | None) -> dict:
    """One compiled JAX step: XLA's temporaries and the time of one call."""
    import jax
    import jax.numpy as jnp

    if impl == "jax-unfused":

        def loss_fn(h: Any, w: Any, y: Any) -> Any:
            logits = h @ w.T
            target_logit = jnp.take_along_axis(logits, y[:, None], axis=1)[:, 0]
            return jnp.mean(jax.nn.logsumexp(logits, axis=1) - target_logit)

    else:
        from losskit.jax.linear_cross_entropy import linear_cross_entropy

        def loss_fn(h: Any, w: Any, y: Any) -> Any:
            return linear_cross_entropy(h, w, y, chunk_size=chunk)

    keys = jax.random.split(jax.random.key(0), 3)
    h = jax.random.normal(keys[0], (tokens, hidden), jnp.float32)
    w = jax.random.normal(keys[1], (vocab, hidden), jnp.float32) * hidden**-0.5
    y = jax.random.randint(keys[2], (tokens,), 0, vocab)
    step = jax.jit(jax.value_and_grad(loss_fn, argnums=(0, 1))).lower(h, w, y).compile()
    memory = step.memory_analysis()
    start = time.perf_counter()
    jax.block_until_ready(step(h, w, y))
    return {
        "seconds": time.perf_counter() - start,
        "extra_bytes": memory.temp_size_in_bytes,
        "pre_step_peak_margin_bytes": 0,
    }


def worker(impl: str, tokens: int, hidden: int, vocab: int, chunk: int | None) -> dict:
    """One step in this (fresh) process: its extra peak memory and its time."""
    if impl in JAX_IMPLS:
        return _jax_worker(impl, tokens, hidden, vocab, chunk)
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
                f"  {impl:11s} V={vocab:>7,}: {step['extra_bytes'] / MIB:8,.0f} MiB, "
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


def _median_time(r: dict) -> float:
    return statistics.median(r["times"])


def _find(results: list[dict], vocab: int, impl: str) -> dict | None:
    return next((r for r in results if r["vocab"] == vocab and r["impl"] == impl), None)


def _table(results: list[dict], config: dict) -> list[str]:
    """One row per implementation: against the unfused step of its library, and
    (losskit's PyTorch row) against PyTorch's F.linear_cross_entropy."""
    head = (
        "| vocabulary | implementation | extra peak memory (MiB) | memory / unfused "
        "| memory / torch | median time (s) | time / unfused | time / torch | rounds |"
    )
    lines = [head, "|---:|---|---:|---:|---:|---:|---:|---:|---:|"]
    for vocab in config["vocabs"]:
        torch_row = _find(results, vocab, "torch")
        for r in (r for r in results if r["vocab"] == vocab):
            base = _find(results, vocab, "jax-unfused" if r["impl"] in JAX_IMPLS else "unfused")
            t = _median_time(r)

            def ratio(x: float, y: float | None) -> str:
                return "-" if y is None else f"{x / y:.3f}"

            peer = None if r["impl"] in JAX_IMPLS else torch_row
            lines.append(
                f"| {vocab:,} | {NAMES[r['impl']]} | {r['extra_bytes'] / MIB:,.0f} "
                f"| {ratio(r['extra_bytes'], base and base['extra_bytes'])} "
                f"| {ratio(r['extra_bytes'], peer and peer['extra_bytes'])} | {t:.2f} "
                f"| {ratio(t, base and _median_time(base))} "
                f"| {ratio(t, peer and _median_time(peer))} | {len(r['times'])} |"
            )
    return lines


def _meets(value: float, target: float) -> str:
    return f"{value:.3f} ({'meets' if value <= target else 'misses'} <= {target})"


def _verdict(results: list[dict], config: dict) -> list[str]:
    lines = []
    for vocab in config["vocabs"]:
        ours, base = _find(results, vocab, "losskit"), _find(results, vocab, "unfused")
        peer = _find(results, vocab, "torch")
        if ours and base:
            lines.append(
                f"- vocabulary {vocab:,}, losskit / unfused: memory "
                f"{_meets(ours['extra_bytes'] / base['extra_bytes'], TARGET_MEMORY)}, time "
                f"{_meets(_median_time(ours) / _median_time(base), TARGET_TIME)}"
            )
        if ours and peer:
            lines.append(
                f"- vocabulary {vocab:,}, losskit / torch's F.linear_cross_entropy: memory "
                f"{_meets(ours['extra_bytes'] / peer['extra_bytes'], TARGET_PEER)}, time "
                f"{_meets(_median_time(ours) / _median_time(peer), TARGET_PEER)}"
            )
        ours, base = _find(results, vocab, "jax-losskit"), _find(results, vocab, "jax-unfused")
        if ours and base:
            lines.append(
                f"- vocabulary {vocab:,}, JAX losskit / unfused (XLA temporaries): memory "
                f"{_meets(ours['extra_bytes'] / base['extra_bytes'], TARGET_MEMORY)}, time "
                f"{_median_time(ours) / _median_time(base):.3f}"
            )
    return lines


NAMES = {
    "unfused": "unfused, PyTorch",
    "losskit": "losskit, PyTorch",
    "torch": "PyTorch F.linear_cross_entropy",
    "jax-unfused": "unfused, JAX (jax.jit)",
    "jax-losskit": "losskit, JAX (jax.jit)",
    "cce": "Cut Cross-Entropy",
}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes, a few seconds")
    parser.add_argument("--chunk-size", type=int, default=None, help="losskit's chunk_size")
    parser.add_argument("--output", type=Path, default=None, help="markdown file to write")
    parser.add_argument(
        "--impls", default=",".join(IMPLS), help=f"comma-separated, of {', '.join(IMPLS)}"
    )
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        print(json.dumps(worker(*json.loads(args.worker))))
        return
    config = QUICK if args.quick else FULL
    impls = [i for i in args.impls.split(",") if i]
    unknown = set(impls) - set(IMPLS)
    if unknown:
        parser.error(f"unknown --impls {sorted(unknown)}; choose among {', '.join(IMPLS)}")
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
    if impls != list(IMPLS):
        cmd += f" --impls {','.join(impls)}"
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
        "- unfused: `F.cross_entropy(hidden @ weight.T, target)` (PyTorch); "
        "`mean(logsumexp(h @ w.T) - target logit)` under `jax.jit` (JAX)",
        "- torch: `F.linear_cross_entropy(hidden, weight, target, "
        "options=torch.nn.LinearCrossEntropyOptions())`, PyTorch's own chunked path",
        f"- method: {' '.join(METHOD.split())}",
        "- ratios: each implementation divided by the unfused step of its library, and "
        "PyTorch rows divided by `F.linear_cross_entropy`, all measured in the same run; "
        f"targets: losskit / unfused memory <= {TARGET_MEMORY} and time <= {TARGET_TIME} "
        f"(JAX: memory <= {TARGET_MEMORY}), losskit / torch <= {TARGET_PEER} in memory and time.",
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
