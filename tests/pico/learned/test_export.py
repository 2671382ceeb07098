"""Core ML export: conversion and spec checks run here; predictions need macOS."""

import platform

import numpy as np
import pytest

from pico.learned.export import OUTPUT_NAMES, example_inputs, export, wrappers

from .conftest import make_tiny_model

ct = pytest.importorskip("coremltools")
TILE = 64


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    out = tmp_path_factory.mktemp("coreml")
    return export(make_tiny_model(), out, tile=TILE)


def test_every_network_is_written_as_an_mlpackage(exported):
    assert [p.name for p in exported] == [f"{n}.mlpackage" for n in OUTPUT_NAMES]
    assert all((p / "Manifest.json").is_file() for p in exported)


def test_exported_specs_name_their_inputs_outputs_and_shapes(exported):
    model = make_tiny_model()
    inputs = example_inputs(model, TILE)
    for path in exported:
        name = path.name.removesuffix(".mlpackage")
        spec = ct.models.MLModel(str(path), skip_model_load=True).get_spec()
        assert spec.WhichOneof("Type") == "mlProgram"
        got = {i.name: tuple(i.type.multiArrayType.shape) for i in spec.description.input}
        assert got == {k: tuple(v.shape) for k, v in inputs[name].items()}
        assert [o.name for o in spec.description.output] == OUTPUT_NAMES[name]


@pytest.mark.skipif(platform.system() != "Darwin", reason="Core ML predictions run only on macOS")
def test_core_ml_synthesis_matches_pytorch(exported):
    import torch

    model = make_tiny_model()
    inputs = example_inputs(model, TILE)["synthesis"]
    inputs["y_rec"] = torch.randn_like(inputs["y_rec"])
    expected = wrappers(model)["synthesis"](*inputs.values()).detach().numpy()
    mlmodel = ct.models.MLModel(str(exported[-1]))
    got = mlmodel.predict({k: v.numpy() for k, v in inputs.items()})["x_hat"]
    assert np.abs(got - expected).max() < 2e-2
