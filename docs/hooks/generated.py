"""MkDocs hook: the pages and pictures made at build time, so they cannot drift.

- `reference/cli.md`, the command-line reference, from the flag definitions
  (`keras_simclr.cli.options`) and the table of commands
  (`keras_simclr.cli.commands.COMMANDS`): the same source as `--help`.
- `img/augmentations.png`, drawn by `examples/show_augmentations.py`.
- `img/demo_metrics.png`, drawn by `examples/plot_metrics.py` from
  `docs/assets/demo_metrics.csv` (the `logs/metrics.csv` of the demo run).
- `img/training_step.png`, drawn by `examples/draw_training_step.py`.

It also checks that the API reference documents every public name: each
module `keras_simclr/__init__.py` imports, and each name those modules
export (their `__all__`; for a package without one, what its `__init__`
imports from the library; for a module without one, what it defines).
A name missing from the rendered pages fails the build.

Nothing here needs the network.
"""

import ast
import importlib.util
import os
import re
import sys
import tempfile

from mkdocs.exceptions import PluginError
from mkdocs.structure.files import File

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CLI_PAGE = "reference/cli.md"
DEMO_METRICS = os.path.join(ROOT, "docs", "assets", "demo_metrics.csv")


def _example(name):
    """The module of `examples/<name>.py`."""
    path = os.path.join(ROOT, "examples", f"{name}.py")
    spec = importlib.util.spec_from_file_location(f"examples_{name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# absl starts the help of an enum flag with its choices, which the table
# shows in its own column.
_ENUM_PREFIX = re.compile(r"^<[^>]*>: ")


def _cell(text):
    return str(text).replace("|", "\\|").replace("\n", " ")


def _value(flag):
    """How a flag's value is spelled, and its default when absl holds one."""
    if flag.boolean:
        spelled = f"`--{flag.name}`, `--no{flag.name}`"
    else:
        choices = getattr(flag.parser, "enum_values", None)
        kind = " | ".join(choices) if choices else flag.flag_type()
        spelled = f"`--{flag.name}=`{_cell(kind)}"
    return spelled


def cli_reference():
    """The Markdown of the command-line reference.

    Returns:
        The page's text: each command's summary, example, required flags and
        a table of the flags it reads (every other flag is refused).
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    # The pictures are drawn with TensorFlow ops; the site is the same on
    # either backend.
    os.environ["KERAS_BACKEND"] = "tensorflow"
    sys.path.insert(0, ROOT)
    from absl import flags

    from keras_simclr.cli import commands, options  # noqa: F401 (defines the flags)

    lines = [
        "# Command line",
        "",
        "Generated from the flag definitions (`keras_simclr/cli/options.py`)",
        "and the table of commands (`keras_simclr.cli.commands.COMMANDS`), the",
        "same source as `keras-simclr COMMAND --help`. Flags take the form",
        "`--name=value`; a command refuses the flags it does not read, in one",
        "line. Recipe flags (one per `ks.recipes.Recipe` field) default to the",
        "preset's value, then to the default shown. The evaluation commands",
        "use the run API's own defaults for the flags left unset.",
        "",
    ]
    for name, command in commands.COMMANDS.items():
        lines += [f"## `keras-simclr {name}`", "", command.summary, ""]
        lines += ["```bash", command.example, "```", ""]
        needs = [
            ("one of " if len(required.flags) > 1 else "")
            + ", ".join(f"`--{flag}`" for flag in required.flags)
            for required in command.required
        ]
        lines += [f"Needs {' and '.join(needs)}.", ""]
        lines += ["| flag | what |", "| --- | --- |"]
        for flag_name in command.flags:
            flag = flags.FLAGS[flag_name]
            what = _ENUM_PREFIX.sub("", flag.help)
            if flag.default is not None and "default" not in what:
                shown = (
                    ("on" if flag.default else "off") if flag.boolean else flag.default
                )
                what += f" (default: {shown})"
            lines.append(f"| {_value(flag)} | {_cell(what)} |")
        lines.append("")
    return "\n".join(lines)


def _pictures(folder):
    """Draws the pictures into `folder`; returns their names there."""
    import tensorflow as tf

    augmentations = _example("show_augmentations")
    grid = augmentations.make_grid(augmentations.test_card(), views=6, tile_size=96)
    tf.io.write_file(os.path.join(folder, "augmentations.png"), tf.io.encode_png(grid))
    _example("plot_metrics").plot(
        DEMO_METRICS, os.path.join(folder, "demo_metrics.png")
    )
    _example("draw_training_step").draw(os.path.join(folder, "training_step.png"))
    return ["augmentations.png", "demo_metrics.png", "training_step.png"]


_TEMP = tempfile.TemporaryDirectory(prefix="keras_simclr_docs_")
# Imported by keras_simclr/__init__.py for its side effect only.
NOT_API = {"startup"}
_ANCHOR = re.compile(r'id="(keras_simclr[\w.]*)"')
_documented = set()


def _source(module):
    package = os.path.join(ROOT, *module.split("."))
    path = os.path.join(package, "__init__.py")
    is_package = os.path.exists(path)
    with open(path if is_package else package + ".py") as file:
        return ast.parse(file.read()), is_package


def public_names(module):
    """The names `module` (e.g. "keras_simclr.runs") makes public.

    Args:
        module: a dotted module name inside the repository.

    Returns:
        A set of names: `__all__` when the module has one; otherwise the
        functions, classes and UPPER_CASE constants it defines and, for a
        package, the names its `__init__` imports from keras_simclr.
    """
    tree, is_package = _source(module)
    names = set()
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets
        ):
            return set(ast.literal_eval(node.value))
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names.update(
                t.id for t in node.targets if isinstance(t, ast.Name) and t.id.isupper()
            )
        elif (
            isinstance(node, ast.ImportFrom)
            and is_package
            and (node.module or "").startswith("keras_simclr")
        ):
            names.update(alias.asname or alias.name for alias in node.names)
    return {name for name in names if not name.startswith("_")}


def _missing(documented):
    """The public `module.name`s of keras_simclr that no page documents."""
    missing = []
    for name in sorted(public_names("keras_simclr") - NOT_API):
        module = f"keras_simclr.{name}"
        if os.path.exists(os.path.join(ROOT, *module.split("."))) or os.path.exists(
            os.path.join(ROOT, *module.split(".")) + ".py"
        ):
            wanted = [(module, member) for member in sorted(public_names(module))]
            wanted.append(("keras_simclr", name))
        else:
            wanted = [("keras_simclr", name)]
        for parent, member in wanted:
            if not any(
                anchor == f"{parent}.{member}"
                or (anchor.startswith(parent + ".") and anchor.endswith("." + member))
                for anchor in documented
            ):
                missing.append(f"{parent}.{member}")
    return missing


def on_page_content(html, page, config, files):
    """Records the API names a page documents (mkdocstrings' anchors)."""
    _documented.update(_ANCHOR.findall(html))
    return html


def on_post_build(config):
    """Fails the build when a public name has no entry in the API reference."""
    missing = _missing(_documented)
    if missing:
        raise PluginError(
            f"the API reference lacks {', '.join(missing)} — add them to a "
            "page of docs/reference/api/ (a `::: module` directive or its "
            "`members:` list)"
        )


def on_files(files, config):
    """Adds the generated page and pictures to the site's files."""
    files.append(File.generated(config, CLI_PAGE, content=cli_reference()))
    for name in _pictures(_TEMP.name):
        files.append(
            File.generated(
                config, f"img/{name}", abs_src_path=os.path.join(_TEMP.name, name)
            )
        )
    return files
