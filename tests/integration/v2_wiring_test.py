"""SimCLRv2 end to end through runs and the CLI: import a reference checkpoint,
then export, finetune, distill and continue pretraining."""

import json
import subprocess

import keras
import numpy as np
import pytest
import tensorflow as tf

import keras_simclr as ks
from keras_simclr import pretrained, recipes, runs
from keras_simclr.layers.projection_head import ProjectionHead
from tests.command_line import CLI, CPU_ENV, run_in_process, shapes_npz

SUFFIX = "/.ATTRIBUTES/VARIABLE_VALUE"


def _reference_checkpoint(prefix):
    """A small SimCLRv2 checkpoint in the reference's layout (as the
    fixtures': see tests/pretrained_test.py), ResNet-18 with the CIFAR stem,
    3-layer head of 16, 10-class supervised head, random weights; returns
    the model that holds the same weights."""
    keras.utils.set_random_seed(3)
    encoder = ks.encoders.ResNet(18, cifar_stem=True, input_shape=(16, 16, 3))
    head = ProjectionHead(num_layers=3, output_dim=16, name="projection_head")
    model = ks.SimCLR(encoder, head, num_classes=10)
    model.build((None, 16, 16, 3))
    rng = np.random.default_rng(0)
    for weight in model.weights:  # the fixtures' value rule, in spirit
        n = rng.standard_normal(weight.shape)
        if "kernel" in weight.name:
            value = n * np.sqrt(2.0 / np.prod(weight.shape[:-1]))
        elif "variance" in weight.name:
            value = 1 + 0.1 * np.abs(n)
        elif "gamma" in weight.name:
            value = 1 + 0.1 * n
        else:
            value = 0.1 * n
        weight.assign(value.astype("float32"))
    layout = list(pretrained._encoder_layout(encoder, 18, 0.0, True))
    for j, (dense, bn) in enumerate(zip(head.dense_layers, head.bn_layers)):
        layout += [
            (f"{pretrained._HEAD}{j}/dense", dense),
            (f"{pretrained._HEAD}{j}/bn_relu/bn", bn),
        ]
    layout.append((pretrained._PROBE, model.probe))
    tensors = {
        key + SUFFIX: v.numpy() for key, v in pretrained._expected_keys(layout).items()
    }
    tensors["global_step" + SUFFIX] = np.array(7, np.int64)
    tf.raw_ops.SaveV2(
        prefix=str(prefix),
        tensor_names=list(tensors),
        shape_and_slices=[""] * len(tensors),
        tensors=[tf.constant(v) for v in tensors.values()],
    )
    return model


def test_import_then_export_finetune_continue_and_distill(tmp_path, capsys):
    source = _reference_checkpoint(tmp_path / "ckpt-7")
    dataset, images, labels = shapes_npz(
        tmp_path / "shapes.npz", 96, seed=1, image_size=16
    )
    run = tmp_path / "imported"

    code, err = run_in_process(
        [
            "import",
            f"--checkpoint={tmp_path / 'ckpt-7'}",
            f"--model_dir={run}",
            "--image_size=16",
        ],
        capsys,
    )
    assert code == 0, err
    config = json.loads((run / "config.json").read_text())
    assert config == dict(
        image_size=16,
        resnet_depth=18,
        width_multiplier=1,
        sk_ratio=0.0,
        cifar_stem=True,
        proj_layers=3,
        proj_dim=16,
        head_layer=1,
    )
    imported = json.loads((run / "results.json").read_text())["import"]
    assert imported["num_classes"] == 10 and imported["checkpoint"].endswith("ckpt-7")
    x = images[:4].astype("float32") / 255.0
    expected_h = source.encoder(x, training=False).numpy()

    # export: the checkpoint's encoder, as a SavedModel.
    code, err = run_in_process(
        ["export", f"--model_dir={run}", f"--export_dir={tmp_path / 'enc'}"], capsys
    )
    assert code == 0, err
    outputs = tf.saved_model.load(str(tmp_path / "enc")).signatures["serving_default"](
        images=tf.constant(images[:4])
    )
    np.testing.assert_allclose(
        outputs["representation"],
        expected_h,
        rtol=1e-4,
        atol=1e-4 * np.abs(expected_h).max(),
    )

    # An imported run has no dataset of its own.
    code, err = run_in_process(["linear-eval", f"--model_dir={run}"], capsys)
    assert code == 2 and "--dataset" in err and len(err.strip().splitlines()) == 1

    # finetune: from head layer 1, the imported recipe's default.
    _, tuned = runs.finetune(
        run,
        dataset=dataset,
        split="train[:64]",
        eval_split="train[64:]",
        label_fraction=0.25,
        epochs=1,
        batch_size=16,
        verbose=0,
    )
    assert tuned["head_layer"] == 1 and tuned["num_labelled"] == 20  # 2 per class

    # distill: self-distillation of that classifier, into another folder.
    student_dir = tmp_path / "student"
    code, err = run_in_process(
        [
            "distill",
            f"--model_dir={student_dir}",
            f"--teacher_dir={run}",
            f"--dataset={dataset}",
            "--split=train[:64]",
            "--eval_split=train[64:]",
            "--label_fraction=0.25",
            "--epochs=1",
            "--batch_size=32",
            "--distill_temperature=2",
        ],
        capsys,
    )
    assert code == 0, err
    distilled = json.loads((student_dir / "results.json").read_text())["distill_25pct"]
    # The teacher, measured again by distill, is the fine-tuned classifier.
    assert distilled["teacher_top1"] == pytest.approx(tuned["top1"])
    assert (distilled["temperature"], distilled["num_train"], distilled["epochs"]) == (
        2.0,
        64,
        1,
    )
    assert distilled["teacher"] == str(run)
    student = keras.saving.load_model(distilled["model"])
    assert student.output_shape == (None, 10)
    teacher = keras.saving.load_model(tuned["model"])
    assert student.count_params() == teacher.count_params()

    # Bad distill flags: one line, exit status 2.
    for argv, named in (
        (["--label_fraction=0.3"], "finetune_30pct"),
        (["--label_fraction=0.25", "--distill_temperature=0"], "temperature"),
        (["--label_fraction=0"], "--label_fraction"),
    ):
        code, err = run_in_process(
            [
                "distill",
                f"--model_dir={student_dir}",
                f"--teacher_dir={run}",
                f"--dataset={dataset}",
                "--split=train[:64]",
                "--eval_split=train[64:]",
            ]
            + argv,
            capsys,
        )
        assert code == 2 and named in err and len(err.strip().splitlines()) == 1, err
    code, err = run_in_process(["distill", f"--model_dir={student_dir}"], capsys)
    assert code == 2 and "--teacher_dir" in err

    # pretrain continues from the imported weights, with its architecture.
    recipe = recipes.Recipe(
        dataset=dataset,
        image_size=16,
        resnet_depth=18,
        cifar_stem=True,
        proj_layers=3,
        proj_dim=16,
        batch_size=16,
        train_steps=1,
        learning_rate=0.0,
        weight_decay=0.0,
        export=False,
    )
    with pytest.raises(runs.RunSettingError, match="sk_ratio=0.0, not 0.0625"):
        ks.pretrain(recipe.replace(sk_ratio=0.0625), run, verbose=0)
    ks.pretrain(recipe, run, verbose=0)
    continued = keras.saving.load_model(str(run / "model.keras"))
    for name in ("stem_conv", "group4_block2_conv2"):
        np.testing.assert_array_equal(
            continued.encoder.get_layer(name).kernel,
            source.encoder.get_layer(name).kernel,
        )
    np.testing.assert_array_equal(
        continued.projection_head.dense_layers[0].kernel,
        source.projection_head.dense_layers[0].kernel,
    )
    assert json.loads((run / "config.json").read_text())["dataset"] == dataset


def test_import_on_jax_holds_the_checkpoints_weights(tmp_path):
    # `keras-simclr import` with KERAS_BACKEND=jax; its model.keras, read
    # back here on TensorFlow, computes what the checkpoint's model does.
    source = _reference_checkpoint(tmp_path / "ckpt-7")
    run = tmp_path / "imported"
    proc = subprocess.run(
        CLI
        + [
            "import",
            f"--checkpoint={tmp_path / 'ckpt-7'}",
            f"--model_dir={run}",
            "--image_size=16",
        ],
        capture_output=True,
        text=True,
        timeout=600,
        env=dict(CPU_ENV, KERAS_BACKEND="jax", JAX_PLATFORMS="cpu"),
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    imported = json.loads((run / "results.json").read_text())["import"]
    assert imported["num_classes"] == 10
    model = keras.saving.load_model(run / "model.keras")
    x = np.random.default_rng(0).uniform(size=(4, 16, 16, 3)).astype("float32")
    np.testing.assert_allclose(
        model.encoder(x, training=False),
        source.encoder(x, training=False),
        atol=1e-5,
    )
