"""losskit.jax.distributed: the global token mean over 4 host devices, in a subprocess
(the device count is fixed when JAX is first imported)."""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys

import numpy as np
import pytest

from array_backends import HAS_JAX

pytestmark = pytest.mark.skipif(not HAS_JAX, reason="jax not installed")

HERE = pathlib.Path(__file__).parent


@pytest.fixture(scope="module")
def sharded() -> dict:
    env = dict(os.environ)
    env["XLA_FLAGS"] = "--xla_force_host_platform_device_count=4"
    env["JAX_PLATFORMS"] = "cpu"
    env["PYTHONPATH"] = os.pathsep.join(
        [str(HERE.parent / "src"), str(HERE), env.get("PYTHONPATH", "")]
    )
    run = subprocess.run(
        [sys.executable, str(HERE / "jax_sharded_mean.py")],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    return json.loads(run.stdout.strip().splitlines()[-1])


def test_runs_on_four_devices(sharded):
    assert sharded["devices"] == 4


@pytest.mark.parametrize("way", ["normalizer", "micro_batches", "global_mean"])
def test_sharded_global_mean_is_the_single_device_mean(sharded, way):
    np.testing.assert_allclose(sharded[way], sharded["single"], rtol=2e-6)
    assert sharded[way + "_grad_error"] < 1e-6


def test_pmap_axis_gives_the_single_device_mean_on_every_device(sharded):
    np.testing.assert_allclose(sharded["pmap"], [sharded["single"]] * 4, rtol=2e-6)


def test_mean_of_shard_means_differs(sharded):
    # what the global mean corrects: the padding differs from shard to shard
    assert abs(sharded["shard_means"] - sharded["single"]) > 1e-3
    assert sharded["shard_means_grad_error"] > 1e-3


def test_token_count_and_global_mean_checks():
    import jax.numpy as jnp

    import losskit
    from losskit.jax import global_mean, token_count

    assert int(token_count(jnp.array([[1, -1], [-1, -1]]), ignore_index=-1)) == 1
    assert int(token_count(jnp.zeros((2, 3), dtype=jnp.int32))) == 6
    with pytest.raises(losskit.LossInputError, match="integer class labels"):
        token_count(jnp.zeros(3))
    with pytest.raises(losskit.LossInputError, match="ignore_index must be"):
        token_count(jnp.zeros(3, dtype=jnp.int32), ignore_index=1.5)
    with pytest.raises(losskit.LossInputError, match="axis_name"):
        global_mean(jnp.array(1.0), 1, axis_name=None)
