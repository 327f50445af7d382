"""Loading the reference's TF2 checkpoints, checked against its own outputs.

The fixtures (shared/fixtures/reference-checkpoints, see its README) hold the
reference's checkpoint keys for ResNet-50 1x with and without selective
kernels, a rule giving every variable a value from its key, and what the
reference model computes with those values on two fixed images.
"""

import json
import os
import pathlib
import zlib

import numpy as np
import pytest
import tensorflow as tf

import keras_simclr as ks
from keras_simclr import pretrained

SUFFIX = "/.ATTRIBUTES/VARIABLE_VALUE"


def fixtures_dir():
    candidates = [
        pathlib.Path(__file__).resolve().parents[1] / ".." / "shared" / "fixtures",
        pathlib.Path(os.environ.get("KERAS_SIMCLR_FIXTURES", "/work/shared/fixtures")),
    ]
    for path in candidates:
        if (path / "reference-checkpoints").is_dir():
            return path / "reference-checkpoints"
    # A failure, not a skip: CI lays shared/ beside the clone, and a skipped
    # fixture test would pass without checking the loader at all.
    pytest.fail(
        "shared/fixtures/reference-checkpoints not found beside the "
        "repository; set KERAS_SIMCLR_FIXTURES to its folder"
    )


def fixture(name):
    return json.loads((fixtures_dir() / f"{name}.json").read_text())


def rule_value(key, shape, kind):
    """The fixture's value_rule, written from its description."""
    n = np.random.RandomState(
        zlib.crc32(key.encode("utf-8")) & 0xFFFFFFFF
    ).standard_normal(shape)
    if kind == "kernel":
        value = n * np.sqrt(2.0 / np.prod(shape[:-1]))
    elif kind == "gamma":
        value = 1 + 0.1 * n
    elif kind == "moving_variance":
        value = 1 + 0.1 * np.abs(n)
    elif kind in ("beta", "moving_mean"):
        value = 0.1 * n
    else:  # bias
        value = 0.01 * n
    return np.asarray(value).astype(np.float32)


def write_checkpoint(prefix, tensors):
    tf.raw_ops.SaveV2(
        prefix=str(prefix),
        tensor_names=list(tensors),
        shape_and_slices=[""] * len(tensors),
        tensors=[tf.constant(v) for v in tensors.values()],
    )
    return str(prefix)


def reference_tensors(spec, value=rule_value, with_slots=True):
    tensors = {}
    for var in spec["checkpoint"]["model_variables"]:
        tensors[var["key"]] = value(var["key"], tuple(var["shape"]), var["kind"])
        if with_slots and var["trainable"]:
            slot = (
                var["key"][: -len(SUFFIX)]
                + "/.OPTIMIZER_SLOT/optimizer/Momentum"
                + SUFFIX
            )
            tensors[slot] = np.zeros(var["shape"], np.float32)
    tensors["global_step" + SUFFIX] = np.array(1000, np.int64)
    tensors["save_counter" + SUFFIX] = np.array(1, np.int64)
    return tensors


def fixture_images():
    y, x, c = np.meshgrid(np.arange(224), np.arange(224), np.arange(3), indexing="ij")
    images = [
        0.5 + 0.5 * np.sin(0.05 * (x + 1) * (c + 1) + 0.07 * (y + 1) * (k + 1))
        for k in range(2)
    ]
    return np.stack(images).astype(np.float32)


def rel_l2(got, want):
    got, want = np.asarray(got, np.float64), np.asarray(want, np.float64)
    return np.linalg.norm(got - want) / np.linalg.norm(want)


@pytest.mark.backend_neutral
@pytest.mark.parametrize(
    "name, sk_ratio", [("r50_1x_sk0", 0.0), ("r50_1x_sk1", 0.0625)]
)
def test_loaded_model_computes_what_the_reference_computes(tmp_path, name, sk_ratio):
    spec = fixture(name)
    images = fixture_images()
    assert abs(images.astype(np.float64).sum() - spec["input_check"]["img_sum"]) < 1e-2
    prefix = write_checkpoint(tmp_path / "ckpt-1", reference_tensors(spec))
    model = pretrained.load(prefix)

    encoder = model.encoder
    assert encoder.get_config()["name"] == ("resnet50_sk" if sk_ratio else "resnet50")
    assert (
        sum(int(np.prod(w.shape)) for w in encoder.trainable_weights)
        == (spec["param_counts"]["resnet_trainable"])
    )
    assert model.projection_head.num_layers == 3 and model.probe.units == 1000
    out = spec["outputs"]
    h = model(images, training=False)
    assert rel_l2(h, out["h"]["values"]) < 1e-4
    hidden = model.projection_head.hidden_outputs(h, training=False)
    head = out["projection_head"]
    for got, want in zip(
        hidden[1:], ("layer1_nl_0", "layer2_nl_1", "layer3_nl_2_output")
    ):
        assert rel_l2(got, head[want]["values"]) < 1e-4, want
    logits = np.asarray(model.probe(h))
    assert rel_l2(logits[:, :20], out["supervised_logits"]["first20"]) < 1e-4
    assert (
        rel_l2(np.linalg.norm(logits, axis=1), out["supervised_logits"]["l2_per_image"])
        < 1e-4
    )
    assert (
        list(np.argmax(logits, axis=1)) == out["supervised_logits"]["argmax_per_image"]
    )


def test_directory_and_mismatch_errors(tmp_path):
    spec = fixture("r50_1x_sk0")
    zeros = lambda key, shape, kind: np.zeros(shape, np.float32)  # noqa: E731
    tensors = reference_tensors(spec, zeros, with_slots=False)
    # A directory with a `checkpoint` file resolves to its latest ckpt-N.
    ckpt_dir = tmp_path / "run"
    ckpt_dir.mkdir()
    dropped = (
        "model/resnet_model/block_groups/2/layers/5/conv_relu_dropblock_layers/7/bn/gamma"
        + SUFFIX
    )
    broken = {k: v for k, v in tensors.items() if k != dropped}
    extra = (
        "model/resnet_model/block_groups/2/layers/1/projection_layers/0/conv2d/kernel"
    )
    broken[extra + SUFFIX] = np.zeros((1, 1, 1024, 1024), np.float32)
    write_checkpoint(ckpt_dir / "ckpt-7", broken)
    (ckpt_dir / "checkpoint").write_text('model_checkpoint_path: "ckpt-7"\n')
    with pytest.raises(pretrained.CheckpointMismatchError) as error:
        pretrained.load(str(ckpt_dir), image_size=64)
    message = str(error.value)
    assert "ckpt-7" in message and "1 model weights without a checkpoint key" in message
    assert "group3_block6_bn3" not in message  # names checkpoint keys, not layer names
    assert dropped[: -len(SUFFIX)] in message
    assert "1 checkpoint variables no model weight uses" in message
    assert extra in message
    # Blocks that no depth has.
    del broken[
        "model/resnet_model/block_groups/2/layers/5/conv_relu_dropblock_layers/0/conv2d/kernel"
        + SUFFIX
    ]
    broken[
        "model/resnet_model/block_groups/2/layers/6/conv_relu_dropblock_layers/0/conv2d/kernel"
        + SUFFIX
    ] = np.zeros((1, 1, 1024, 256), np.float32)
    write_checkpoint(tmp_path / "deeper", broken)
    with pytest.raises(
        pretrained.CheckpointMismatchError, match=r"deeper.*per group \[3, 4, 7, 3\]"
    ):
        pretrained.load(str(tmp_path / "deeper"), image_size=64)

    wrong_shape = dict(tensors)
    wrong_shape["model/supervised_head/linear_layer/dense/kernel" + SUFFIX] = np.zeros(
        (1024, 1000), np.float32
    )
    write_checkpoint(tmp_path / "shape", wrong_shape)
    with pytest.raises(
        pretrained.CheckpointMismatchError, match=r"\[1024, 1000\] vs \[2048, 1000\]"
    ):
        pretrained.load(str(tmp_path / "shape"), image_size=64)


def test_saved_model_variables_and_bad_paths(tmp_path):
    spec = fixture("r50_1x_sk1")
    saved = tmp_path / "release" / "saved_model" / "variables"
    saved.mkdir(parents=True)
    write_checkpoint(
        saved / "variables",
        {
            v["key"]: np.zeros(v["shape"], np.float32)
            for v in spec["saved_model_export"]["variables_index_keys"]
            if v["ckpt_key"]
        },
    )
    with pytest.raises(
        pretrained.CheckpointMismatchError, match="SavedModel's variables"
    ):
        pretrained.load(str(tmp_path / "release"))
    with pytest.raises(ValueError, match="not a released model name"):
        pretrained.load("simclrv2/r50_9x_sk1/pretrained")
    with pytest.raises(ValueError, match="neither a released model name"):
        pretrained.load(str(tmp_path / "nothing"))
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ValueError, match="without a TF checkpoint"):
        pretrained.load(str(empty))


def test_released_names():
    names = pretrained.RELEASED_MODELS
    assert names["simclrv2/r50_1x_sk1/pretrained"] == (
        "gs://simclr-checkpoints-tf2/simclrv2/pretrained/r50_1x_sk1"
    )
    assert names["simclrv2/r152_3x_sk1/finetuned_10pct"] == (
        "gs://simclr-checkpoints-tf2/simclrv2/finetuned_10pct/r152_3x_sk1"
    )
    assert (
        names["simclrv1/r50_4x/pretrained"]
        == "gs://simclr-checkpoints-tf2/simclrv1/pretrain/4x"
    )
    assert len(names) == 13 * 7 + 3
    assert ks.pretrained is pretrained


def test_checkpoint_without_projection_head_gets_a_new_one(tmp_path):
    # SimCLRv1 releases: encoder and supervised head only.
    spec = fixture("r50_1x_sk0")
    tensors = {
        k: np.full(v.shape, 0.5, np.float32)
        if k.endswith("moving_variance" + SUFFIX)
        else v
        for k, v in reference_tensors(
            spec, lambda key, shape, kind: np.zeros(shape, np.float32), with_slots=False
        ).items()
        if "_projection_head" not in k
    }
    model = pretrained.load(write_checkpoint(tmp_path / "v1", tensors), image_size=64)
    assert isinstance(model.projection_head, ks.layers.ProjectionHead)
    assert model.projection_head.num_layers == 3 and model.probe.units == 1000
    assert np.all(model.encoder.get_layer("stem_bn").moving_variance.numpy() == 0.5)
    # Random, not loaded: the initializer's N(0, 0.01^2) draw (2048 x 2048 values).
    kernel = model.projection_head.dense_layers[0].kernel.numpy()
    assert kernel.shape == (2048, 2048)
    assert (
        np.std(kernel) == pytest.approx(0.01, rel=0.02) and abs(np.mean(kernel)) < 1e-4
    )


def test_a_checkpoint_missing_a_layer_is_named_in_one_line(tmp_path):
    tensors = reference_tensors(fixture("r50_1x_sk0"), with_slots=False)
    for i, key in enumerate(
        [
            "model/resnet_model/initial_conv_relu_max_pool/0/conv2d/kernel",
            "model/_projection_head/linear_layers/0/dense/kernel",
        ]
    ):
        kept = {k: v for k, v in tensors.items() if not k.startswith(key)}
        prefix = write_checkpoint(tmp_path / f"ckpt-{i + 1}", kept)
        with pytest.raises(pretrained.CheckpointMismatchError) as caught:
            pretrained.load(prefix, image_size=32)  # a bare KeyError before
        assert str(caught.value) == (
            f"{prefix} has no variable {key}: it is not a whole SimCLR reference "
            "TF2 checkpoint (a layer is missing) — load the release's checkpoint "
            "as written, not a partial copy."
        )


def test_a_released_name_without_network_says_how_to_use_a_copy(monkeypatch):
    def no_network(path):  # what TensorFlow's GCS file system raises offline
        raise tf.errors.FailedPreconditionError(
            None,
            None,
            "Error executing an HTTP request: libcurl code 6 meaning 'Could not "
            "resolve hostname', error details: Could not resolve host\n when "
            f"reading metadata of {path}",
        )

    monkeypatch.setattr(tf.io.gfile, "isdir", no_network)
    url = "gs://simclr-checkpoints-tf2/simclrv2/pretrained/r50_1x_sk1"
    with pytest.raises(ks.errors.UserInputError) as caught:
        pretrained.load("simclrv2/r50_1x_sk1/pretrained")
    assert str(caught.value) == (
        f"could not read {url} (Error executing an HTTP request: libcurl code 6 "
        "meaning 'Could not resolve hostname') — check the network, or copy the "
        f"checkpoint folder on a connected machine (gsutil -m cp -r {url} .) and "
        "pass its local path."
    )
