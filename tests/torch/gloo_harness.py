"""Process groups for the distributed tests: ``run(worker, world_size)`` starts
``world_size`` fresh processes joined by gloo on localhost, and a failed assertion in any
rank fails the test with that rank's traceback."""

from __future__ import annotations

import datetime
import os
import socket
import sys

import pytest

torch = pytest.importorskip("torch")

import torch.distributed as dist  # noqa: E402
import torch.multiprocessing as mp  # noqa: E402


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _entry(rank: int, world_size: int, port: int, worker, args: tuple) -> None:
    torch.set_num_threads(1)
    os.environ.setdefault("GLOO_SOCKET_IFNAME", "lo")
    dist.init_process_group(
        "gloo",
        init_method=f"tcp://127.0.0.1:{port}",
        rank=rank,
        world_size=world_size,
        timeout=datetime.timedelta(seconds=60),
    )
    try:
        worker(rank, world_size, *args)
        dist.barrier()  # no rank tears its process group down while another still talks
    finally:
        dist.destroy_process_group()
    # A rank that passed leaves without the interpreter's finalisation: there, a C++
    # thread that DDP or gloo left behind may be destroyed still joinable, which aborts
    # the process ("terminate called without an active exception", SIGABRT) after the
    # work is done (seen in 3 of about 50 runs of two ranks on two loaded cores).  A rank
    # that failed raised above, and mp.spawn reports its traceback.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


def run(worker, world_size: int = 2, *args) -> None:
    """Run ``worker(rank, world_size, *args)`` in ``world_size`` fresh processes."""
    mp.spawn(_entry, args=(world_size, _free_port(), worker, args), nprocs=world_size)


def close(got: torch.Tensor, want: torch.Tensor, what: str) -> None:
    torch.testing.assert_close(got, want, rtol=1e-10, atol=1e-12, msg=lambda m: f"{what}: {m}")
