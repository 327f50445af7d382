"""The documentation speaks in the third person, and the API docstrings hold
no speed figures (those live in benchmarks/README.md, where the machine and
the conditions are written next to them)."""

import ast
import os
import re

import pytest

from tests.docs import markdown_blocks

pytestmark = pytest.mark.backend_neutral

ROOT = markdown_blocks.ROOT
FIRST_PERSON = re.compile(r"\b(I|I'm|I've|we|We|we're|We're|our|Our|us|me|my|My)\b")
SPEED = re.compile(
    r"\d[\d,.]*\s*(images/s|img/s|views/s|steps/s|it/s|examples/s|ms/step|s/step"
    r"|ms per step|x faster|times faster)"
)
_FENCE = re.compile(r"^\s*(```|~~~)")


def _prose(text):
    """The lines of a Markdown text outside its code fences and inline code."""
    inside = False
    for number, line in enumerate(text.split("\n"), 1):
        if _FENCE.match(line):
            inside = not inside
            continue
        if not inside:
            yield number, re.sub(r"`[^`]*`", "", line)


def _docstrings():
    """(path:line, docstring) of every module, class and function of the package."""
    for folder, _, names in os.walk(os.path.join(ROOT, "keras_simclr")):
        for name in sorted(n for n in names if n.endswith(".py")):
            path = os.path.join(folder, name)
            with open(path) as file:
                tree = ast.parse(file.read())
            for node in ast.walk(tree):
                if isinstance(
                    node,
                    (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef),
                ):
                    text = ast.get_docstring(node)
                    if text:
                        where = f"{os.path.relpath(path, ROOT)}:{getattr(node, 'lineno', 1)}"
                        yield where, text


def test_pages_are_in_the_third_person():
    pages = markdown_blocks.pages() + ["CHANGELOG.md", "benchmarks/README.md"]
    found = []
    for page in pages:
        with open(os.path.join(ROOT, page)) as file:
            text = file.read()
        found += [
            f"{page}:{number}: {line.strip()}"
            for number, line in _prose(text)
            if FIRST_PERSON.search(line)
        ]
    assert not found, "first person in the documentation:\n" + "\n".join(found)


def test_docstrings_have_no_first_person_and_no_speed_figures():
    found = []
    for where, text in _docstrings():
        prose = re.sub(r"`[^`]*`", "", text)
        if FIRST_PERSON.search(prose):
            found.append(f"{where}: first person: {FIRST_PERSON.search(prose)[0]!r}")
        if SPEED.search(text):
            found.append(f"{where}: a speed figure: {SPEED.search(text)[0]!r}")
    assert not found, "\n".join(found)


def test_the_checks_catch_what_they_look_for():
    assert FIRST_PERSON.search("By our estimate") and FIRST_PERSON.search("I measured")
    assert not FIRST_PERSON.search("In a user's run, usage is measured")
    assert SPEED.search("it ran at 155 images/s") and SPEED.search("0.7 s/step")
    assert list(_prose("We\n```\nwe = 1\n```\n`we`")) == [(1, "We"), (5, "")]


def test_the_readme_stays_short():
    """The README introduces; the guides in docs/ explain (issue 23)."""
    with open(os.path.join(ROOT, "README.md")) as file:
        lines = file.read().count("\n")
    assert lines <= 200, f"README.md has {lines} lines; move details to docs/"
