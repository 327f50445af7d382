"""A run folder is one run: what would overwrite it is refused before anything
is written, a finished run re-run writes nothing, and the records tell the
truth. One 4-step run is trained; each test works on a copy of it."""

import hashlib
import json
import os
import shutil
import socket
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

import keras_simclr as ks
from keras_simclr import runs
from keras_simclr.errors import UserInputError
from keras_simclr.runs import lock
from tests.command_line import run_in_process
from tests.lock_holder import held_by_another_process

STEPS = 4


def _recipe(dataset, **changes):
    settings = dict(
        dataset=dataset,
        batch_size=8,
        train_steps=STEPS,
        checkpoint_steps=2,
        image_size=16,
        cifar_stem=True,
        proj_dim=16,
    )
    return ks.recipes.Recipe.from_preset("demo", **dict(settings, **changes))


def _digests(folder):
    """{relative path: SHA-256} of every file under `folder`."""
    found = {}
    for root, _, names in os.walk(folder):
        for name in names:
            path = os.path.join(root, name)
            with open(path, "rb") as f:
                found[os.path.relpath(path, folder)] = hashlib.sha256(
                    f.read()
                ).hexdigest()
    return found


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    """(dataset, a finished 4-step run's folder), trained once."""
    folder = tmp_path_factory.mktemp("run_folders")
    images, labels = ks.data.make_shapes(16, seed=1)
    dataset = str(folder / "tiny.npz")
    np.savez(dataset, images=images, labels=labels)
    run = folder / "run"
    ks.pretrain(_recipe(dataset), str(run), verbose=0)
    return dataset, run


@pytest.fixture
def run(finished, tmp_path):
    """A copy of the finished run, and its dataset."""
    dataset, original = finished
    copy = tmp_path / "run"
    shutil.copytree(original, copy)
    return dataset, copy


def test_rerunning_a_finished_run_keeps_its_record_and_writes_nothing(run, capsys):
    dataset, folder = run
    before = _digests(folder)
    recorded = runs.read_results(str(folder))["pretrain"]
    assert recorded["steps"] == STEPS and recorded["seconds"] > 0
    summary = ks.pretrain(_recipe(dataset), str(folder), verbose=0)
    assert _digests(folder) == before
    assert summary == dict(recorded, steps_this_run=0)
    assert np.isfinite(summary["loss"]) and summary["images_per_second"] > 0
    assert (
        f"keras-simclr: {folder} holds this run, finished at step {STEPS}; nothing "
        "trained or written"
    ) in capsys.readouterr().out


def test_a_lost_config_is_written_again_from_the_checkpoints_record(run, capsys):
    dataset, folder = run
    config = (folder / "config.json").read_text()
    (folder / "config.json").unlink()
    before = _digests(folder)
    assert ks.pretrain(_recipe(dataset), str(folder), verbose=0)["steps_this_run"] == 0
    assert "nothing trained; its missing config.json written again" in (
        capsys.readouterr().out
    )
    assert json.loads((folder / "config.json").read_text()) == json.loads(config)
    assert {k: v for k, v in _digests(folder).items() if k != "config.json"} == before


def test_deleted_checkpoints_and_another_recipe_are_refused_before_writing(run):
    dataset, folder = run
    shutil.rmtree(folder / "checkpoints")
    before = _digests(folder)
    with pytest.raises(runs.RunSettingError) as refused:
        ks.pretrain(_recipe(dataset, proj_dim=32), str(folder), verbose=0)
    assert str(refused.value) == (
        f"{folder} holds a run with proj_dim=16, not 32 — pass proj_dim=16 to "
        "resume it, or use a new model_dir"
    )
    assert _digests(folder) == before
    # The same recipe: the run is finished; nothing is trained or written.
    assert ks.pretrain(_recipe(dataset), str(folder), verbose=0)["steps_this_run"] == 0
    assert _digests(folder) == before
    # More steps, without a checkpoint to continue from: refused.
    with pytest.raises(runs.RunSettingError, match="no checkpoint to continue it"):
        ks.pretrain(_recipe(dataset, train_steps=6), str(folder), verbose=0)
    assert _digests(folder) == before


def test_fewer_steps_than_the_model_has_are_refused(run):
    dataset, folder = run
    before = _digests(folder)
    with pytest.raises(runs.RunSettingError) as refused:
        ks.pretrain(_recipe(dataset, train_steps=2), str(folder), verbose=0)
    assert str(refused.value) == (
        f"{folder} holds a run trained {STEPS} steps, more than this recipe's 2 — "
        f"pass train_steps={STEPS} (or the recipe that trained it), or use a new "
        "model_dir"
    )
    assert refused.value.field == "train_steps"
    assert _digests(folder) == before
    config = json.loads((folder / "config.json").read_text())
    assert config["train_steps"] == STEPS
    assert runs.read_results(str(folder))["pretrain"]["steps"] == STEPS


def test_a_folder_with_a_model_and_no_record_is_refused(run):
    dataset, folder = run
    for name in ("checkpoints", "config.json", "results.json"):
        path = folder / name
        shutil.rmtree(path) if path.is_dir() else path.unlink()
    before = _digests(folder)
    with pytest.raises(runs.RunSettingError, match="holds model.keras but no record"):
        ks.pretrain(_recipe(dataset), str(folder), verbose=0)
    assert _digests(folder) == before


def test_a_second_pretrain_on_a_folder_in_use_is_refused(finished, tmp_path):
    dataset, _ = finished
    folder = tmp_path / "new_run"
    # The first pretrain call: another process, holding the folder's lock.
    with held_by_another_process(folder) as first:
        with pytest.raises(runs.RunBusyError) as refused:
            ks.pretrain(_recipe(dataset, proj_dim=32), str(folder), verbose=0)
        assert str(refused.value).startswith(
            f"{folder} is in use by pretrain (pid {first.pid} on {socket.gethostname()}"
        )
        assert os.listdir(folder) == [lock.LOCK]  # nothing of the second call


def test_a_stale_lock_is_taken_over_with_a_warning(run, capsys):
    dataset, folder = run
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    stale = dict(
        host=socket.gethostname(),
        pid=int(dead.stdout),
        started="1",
        purpose="pretrain",
        since="2026-01-01T00:00:00",
        renewed=0,
        token="crashed",
    )
    (folder / lock.LOCK).write_text(json.dumps(stale))
    assert ks.pretrain(_recipe(dataset), str(folder), verbose=0)["steps"] == STEPS
    err = capsys.readouterr().err
    assert f"keras-simclr: warning: taking over {folder}/lock.json from pretrain" in err
    assert not (folder / lock.LOCK).exists()


def test_a_model_dir_that_is_a_file_is_one_line(finished, tmp_path, capsys):
    dataset, _ = finished
    path = tmp_path / "model_dir.txt"
    path.write_text("mine")
    with pytest.raises(runs.RunSettingError, match="is a file, not a folder"):
        ks.pretrain(_recipe(dataset), str(path), verbose=0)
    code, err = run_in_process(
        ["pretrain", "--preset=demo", f"--dataset={dataset}", f"--model_dir={path}"],
        capsys,
    )
    assert (code, err.strip().splitlines()) == (
        2,
        [
            f"keras-simclr: error: model_dir {path} is a file, not a folder — pass a "
            "folder path (it is created), or move the file away"
        ],
    )
    assert path.read_text() == "mine"


def test_exports_refuse_to_overwrite_and_replace_whole_when_asked(run, tmp_path):
    _, folder = run
    target = tmp_path / "exported"
    (target / "assets").mkdir(parents=True)
    (target / "assets" / "old_vocab.txt").write_text("someone else's")
    before = _digests(target)
    with pytest.raises(UserInputError) as refused:
        runs.export(str(folder), str(target))
    assert str(refused.value) == (
        f"{target} already holds files (assets) — pass overwrite=True to replace all "
        "of them, or export to a new folder"
    )
    assert _digests(target) == before
    runs.export(str(folder), str(target), include_projection=False, overwrite=True)
    assert not (target / "assets" / "old_vocab.txt").exists()
    assert (target / "saved_model.pb").exists()
    served = tf.saved_model.load(str(target)).signatures["serving_default"]
    assert sorted(served(images=tf.zeros((1, 16, 16, 3), tf.uint8))) == [
        "representation"
    ]
    # The run's own export is written again from its model.keras.
    own = folder / "saved_encoder"
    assert (own / "saved_model.pb").exists()
    assert runs.export(str(folder)) == str(own)


def test_an_export_into_the_runs_checkpoints_is_refused(run):
    _, folder = run
    before = _digests(folder)
    for target in (
        folder / "checkpoints" / f"ckpt-{STEPS}",
        folder / "checkpoints" / f"ckpt-{STEPS}" / "encoder",
        folder / "checkpoints",
    ):
        with pytest.raises(UserInputError) as refused:
            runs.export(str(folder), str(target), overwrite=True)
        assert str(refused.value) == (
            f"{target} is inside a run's checkpoints, which checkpoint rotation "
            "deletes — export elsewhere, e.g. to the run's saved_encoder folder"
        )
    assert _digests(folder) == before


def test_an_import_into_a_run_is_refused_before_reading_the_checkpoint(run):
    _, folder = run
    before = _digests(folder)
    with pytest.raises(runs.RunSettingError) as refused:
        runs.import_checkpoint("simclrv2/r50_1x_sk1/pretrained", str(folder))
    assert str(refused.value) == (
        f"{folder} already holds a run (config.json, model.keras, results.json, "
        "checkpoints) — import into a new model_dir"
    )
    assert _digests(folder) == before
