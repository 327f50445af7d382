"""The `keras-simclr` command line: pretrain, linear-eval, finetune, distill,
export, import.

The first positional argument is the command, then its flags, as
`--name=value`. Each command is a call of the Python run API
(`keras_simclr.pretrain`, `keras_simclr.runs.linear_eval`, ...), whose
docstrings say what a run's folder holds, and reads its own flags
(`keras-simclr COMMAND --help`): a flag it does not read is refused.
`--model_dir` may be any TensorFlow filesystem (gs://...).
`--backend=jax` (any command; or KERAS_BACKEND=jax) runs it on JAX. A killed
pretraining run started again with the same command resumes from its last
checkpoint.

User errors (unknown dataset, bad flag values, a batch that does not split
over the replicas, ...) print one line `keras-simclr: error: <what> — <how
to fix>` and exit with status 2. TensorFlow's own start-up logs are off
unless TF_CPP_MIN_LOG_LEVEL is set (0 shows them all).
"""

import sys

from absl import app, flags, logging

from keras_simclr import backends
from keras_simclr.cli import commands, errors, options

FLAGS = flags.FLAGS
COMMANDS = commands.COMMANDS
UsageError = errors.UsageError
# A refused flag's error lists the command's flags up to this many (else it
# points to the command's --help).
MOST_FLAGS_LISTED = 12


def _given():
    """{name: value} of the keras-simclr flags given on the command line."""
    names = [f.name for f in FLAGS.get_flags_for_module(options)]
    return {name: FLAGS[name].value for name in names if FLAGS[name].present}


def _listed(names):
    return ", ".join(f"--{name}" for name in names)


def _and(words):
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} and {words[-1]}"


def _refuse_unread_flags(name, given):
    """Refuses the flags given that command `name` does not read."""
    command = COMMANDS[name]
    unread = [flag for flag in given if flag not in (*command.flags, "backend")]
    if not unread:
        return
    one = len(unread) == 1
    what = f"{_and([f'--{flag}' for flag in unread])} " + (
        f"is not a flag of {name}" if one else f"are not flags of {name}"
    )
    readers = [
        other
        for other, entry in COMMANDS.items()
        if any(flag in entry.flags for flag in unread)
    ]
    if readers:
        what += f" ({_and(readers)} read{'s' if len(readers) == 1 else ''} "
        what += "it)" if one else "them)"
    if len(command.flags) > MOST_FLAGS_LISTED:
        flags_are = f"see `keras-simclr {name} --help` for its flags"
    else:
        flags_are = f"{name}'s flags are {_listed(command.flags)}"
    errors.fail(what, f"drop {'it' if one else 'them'}; {flags_are}")


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
    _refuse_unread_flags(argv[1], given)
    _check_backend(given.get("backend"))
    for required in COMMANDS[argv[1]].required:
        if not any(given.get(flag) for flag in required.flags):
            errors.fail(required.what, required.fix)


def _check_backend(asked):
    """Refuses a --backend that Keras, already imported, does not run on."""
    running = backends.check_backend()
    if asked and asked != running:
        errors.fail(
            f"--backend={asked} but Keras was imported with {running} before the "
            "flag was read",
            f"run `keras-simclr ... --backend={asked}` as its own command, or set "
            f"KERAS_BACKEND={asked}",
        )


def _dispatch(name, given):
    """Calls command `name` with the arguments its given flags map to."""
    command = COMMANDS[name]
    arguments = {
        command.arguments[flag]: value
        for flag, value in given.items()
        if flag not in ("model_dir", "backend")
    }
    return command.run(given["model_dir"], **arguments)


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
            errors.explain_decode_error(
                error,
                FLAGS.dataset,
                FLAGS.split or "train",
                can_skip="skip_corrupt" in COMMANDS[argv[1]].flags,
            )
        raise


def _flags_help(title, names):
    """absl's help text of the flags `names`, under `title`."""
    subset = flags.FlagValues()
    for name in names:
        subset[name] = FLAGS[name]
        subset.register_flag_by_module(title, FLAGS[name])
    return subset.module_help(title)


def help_text(command=None, full=False):
    """The text of `keras-simclr [COMMAND] --help` (or `--helpfull`).

    Args:
        command: a key of `COMMANDS`, or None for every command.
        full: also list the flags of absl and TensorFlow (`--helpfull`),
            after the library's.

    Returns:
        The text: what the command does, an example, its flags.

    Example:

    >>> text = help_text("export")
    >>> print(text.splitlines()[0])
    keras-simclr export: Exports the run's encoder as a TensorFlow SavedModel.
    >>> "--[no]overwrite" in text, "--epochs" in text
    (True, False)
    """
    if command:
        entry = COMMANDS[command]
        needs = _and(
            [
                " or ".join(f"--{flag}" for flag in required.flags)
                for required in entry.required
            ]
        )
        text = (
            f"keras-simclr {command}: {entry.summary}\n\n    {entry.example}\n\n"
            f"Needs {needs}. Other flags are refused."
            + (
                ""
                if command == "pretrain"
                else " Defaults below are pretraining's; unset flags keep the "
                "run API's own defaults."
            )
            + "\n"
            + _flags_help(f"Flags of {command}", entry.flags)
        )
    else:
        listing = "".join(
            f"  {name:13s}{entry.summary}\n  {'':13s}{entry.example}\n"
            for name, entry in COMMANDS.items()
        )
        text = (
            __doc__ + "\nCommands (`keras-simclr COMMAND --help` lists a command's own "
            f"flags):\n{listing}\nFlags:" + FLAGS.module_help(options)
        )
    if full:
        others = [m for m in FLAGS.flags_by_module_dict() if m != options.__name__]
        text += "\n\nFlags of absl and TensorFlow:" + "".join(
            FLAGS.module_help(module) for module in sorted(others)
        )
    return text


def _parse_flags(argv):
    asked = {"-h", "--help", "-help", "--helpshort", "--helpfull"} & set(argv[1:])
    if asked:
        # absl's own help lists the flags of __main__ (here the console
        # script's stub, which defines none) and exits with status 1.
        command = next((arg for arg in argv[1:] if arg in COMMANDS), None)
        print(help_text(command, full="--helpfull" in asked), flush=True)
        sys.exit(0)
    try:
        return FLAGS(argv)
    except flags.Error as error:
        fix = "" if " — " in str(error) else " — see `keras-simclr --helpfull`"
        print(f"keras-simclr: error: {error}{fix}", file=sys.stderr, flush=True)
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
