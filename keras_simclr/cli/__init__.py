"""The `keras-simclr` command line: pretrain, linear-eval, finetune, distill,
export, import.

    keras-simclr pretrain --preset=demo --model_dir=runs/demo
    keras-simclr linear-eval --model_dir=runs/demo
    keras-simclr finetune --model_dir=runs/demo --label_fraction=0.1
    keras-simclr distill --model_dir=runs/demo --teacher_dir=runs/demo \
        --label_fraction=0.1
    keras-simclr export --model_dir=runs/demo
    keras-simclr import --checkpoint=simclrv2/r50_1x_sk1/pretrained \
        --model_dir=runs/r50_sk1

The first positional argument is the command; the flags are shared. Each
command is a call of the Python run API (`keras_simclr.pretrain`,
`keras_simclr.runs.linear_eval`, ...), whose docstrings say what a run's
folder holds. `--model_dir` may be any TensorFlow filesystem (gs://...). A
killed pretraining run started again with the same command resumes from its
last checkpoint.

User errors (unknown dataset, bad flag values, a batch that does not split
over the replicas, ...) print one line `keras-simclr: error: <what> — <how
to fix>` and exit with status 2.
"""

import sys

from absl import app, flags, logging

from keras_simclr.cli import commands, errors, options

FLAGS = flags.FLAGS
COMMANDS = ("pretrain", "linear-eval", "finetune", "distill", "export", "import")
UsageError = errors.UsageError


def _given():
    """{name: value} of the keras-simclr flags given on the command line."""
    names = [f.name for f in FLAGS.get_flags_for_module(options)]
    return {name: FLAGS[name].value for name in names if FLAGS[name].present}


def _check_command(argv, given):
    if len(argv) < 2 or argv[1] not in COMMANDS:
        what = f"'{argv[1]}'" if len(argv) > 1 else "no command"
        errors.fail(
            f"{what} is not a command",
            f"use one of {', '.join(COMMANDS)}, e.g. "
            "`keras-simclr pretrain --preset=demo --model_dir=runs/demo`",
        )
    if len(argv) > 2:
        errors.fail(
            f"unexpected argument '{argv[2]}'", "flags take the form --name=value"
        )
    if not given.get("model_dir"):
        errors.fail("no --model_dir", "pass --model_dir=DIR (e.g. runs/demo)")
    if argv[1] == "pretrain" and not (given.get("dataset") or given.get("preset")):
        errors.fail(
            "no dataset", "pass --dataset=NAME|FOLDER|FILE.npz or --preset=demo"
        )
    if argv[1] == "distill" and not given.get("teacher_dir"):
        errors.fail(
            "no --teacher_dir",
            "pass --teacher_dir=RUN (a run folder with a "
            "fine-tuned model) or a SavedModel folder",
        )
    if argv[1] == "import" and not given.get("checkpoint"):
        errors.fail(
            "no --checkpoint",
            "pass --checkpoint=NAME|FOLDER, e.g. "
            "--checkpoint=simclrv2/r50_1x_sk1/pretrained",
        )


def _dispatch(command, given):
    model_dir = given["model_dir"]
    if command == "pretrain":
        return commands.pretrain(
            model_dir,
            options.recipe_from_flags(given),
            FLAGS.tpu,
            FLAGS.num_gpus,
            FLAGS.cpu_replicas,
        )
    if command == "linear-eval":
        return commands.linear_eval(model_dir, given)
    if command == "finetune":
        return commands.finetune(model_dir, given)
    if command == "distill":
        return commands.distill(model_dir, given)
    if command == "import":
        return commands.import_checkpoint(
            model_dir, given["checkpoint"], given.get("image_size")
        )
    return commands.export(model_dir, FLAGS.export_dir, FLAGS.include_projection)


def main(argv):
    """Dispatches `keras-simclr COMMAND` (absl has parsed the flags).

    Args:
        argv: the positional arguments, argv[1] the command.

    Returns:
        None. Exits with status 2 on a user error (one line on stderr), 1
        on a diverged loss or a failed checkpoint write, 130 on Ctrl-C.

    Example (from a shell; `run` parses the flags, then calls `main`):

        keras-simclr linear-eval --model_dir=runs/demo
    """
    given = _given()
    try:
        _check_command(argv, given)
        if not FLAGS["verbosity"].present:
            logging.set_verbosity(logging.WARNING)
        _dispatch(argv[1], given)
    except KeyboardInterrupt:
        print(
            "keras-simclr: interrupted — run the same command again to resume "
            "from the last checkpoint",
            file=sys.stderr,
            flush=True,
        )
        sys.exit(130)
    except Exception as error:
        reported = errors.user_error_line(error, set(FLAGS))
        if reported:
            print(reported[0], file=sys.stderr, flush=True)
            sys.exit(reported[1])
        if errors.is_decode_error(error):
            errors.explain_decode_error(error, FLAGS.dataset, FLAGS.split or "train")
        raise


def _parse_flags(argv):
    if any(arg in ("-h", "--help", "-help", "--helpshort") for arg in argv[1:]):
        # absl's own --help lists the flags of __main__, here the console
        # script's stub, which defines none.
        print(__doc__ + "\nFlags:\n" + FLAGS.module_help(options), flush=True)
        sys.exit(0)
    try:
        return FLAGS(argv)
    except flags.Error as error:
        print(
            f"keras-simclr: error: {error} — see `keras-simclr --helpfull`",
            file=sys.stderr,
            flush=True,
        )
        sys.exit(2)


def run():
    """Console entry point of `keras-simclr`: parses `sys.argv`, runs it.

    Returns:
        Never; exits with the command's status (0 on success).

    Example (from a shell, or `python -m keras_simclr.cli`):

        keras-simclr pretrain --preset=demo --model_dir=runs/demo
        keras-simclr --help
    """
    app.run(main, flags_parser=_parse_flags)
