"""The Python code blocks of README.md and docs/, and how each is tested.

A fenced block whose info string is `python` is a test. The HTML comment on
the line just before its fence (invisible on GitHub and on the site) can
say otherwise:

- `<!-- docs-test: skip REASON -->`: not run; REASON says why (a GPU, a
  TPU, a bucket, a download, hours of training). Pytest lists it as
  skipped with that reason.
- `<!-- docs-test: jax -->`: run in CI's JAX pass
  (`KERAS_BACKEND=jax pytest -m backend_neutral`), not the TensorFlow one.

A comment of its own, `<!-- docs-test: setup` then Python lines then `-->`,
is code that runs before the page's next blocks without being shown
(small stand-ins for a user's data, say).

The blocks of a page run in order, in one namespace, in a fresh folder,
like a notebook's cells: a block may use the names an earlier one made.
"""

import dataclasses
import os
import re

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
_FENCE = re.compile(r"^(\s*)(```+|~~~+)\s*([\w+-]*)")
_MARK = re.compile(r"^\s*<!--\s*docs-test:\s*(skip|jax)\b\s*(.*?)\s*-->\s*$")
_SETUP = re.compile(r"^\s*<!--\s*docs-test:\s*setup\s*$")


@dataclasses.dataclass
class Block:
    """One Python code block.

    Args:
        page: its file, relative to the repository.
        line: the line of its first code line (1-based).
        code: the code, dedented as written under the fence.
        kind: "run" (TensorFlow pass), "jax" (JAX pass), "skip" or "setup".
        reason: why a "skip" block is not run.
    """

    page: str
    line: int
    code: str
    kind: str = "run"
    reason: str = ""

    @property
    def name(self):
        return f"{self.page}:{self.line}"


def pages():
    """README.md and every Markdown file under docs/, relative paths, sorted."""
    found = ["README.md"]
    for folder, _, names in os.walk(os.path.join(ROOT, "docs")):
        found += [
            os.path.relpath(os.path.join(folder, name), ROOT)
            for name in names
            if name.endswith(".md")
        ]
    return sorted(found)


def blocks(page):
    """The `Block`s of `page` (a path relative to the repository), in order.

    Args:
        page: e.g. "README.md" or "docs/guides/data.md".

    Returns:
        A list of `Block`.

    Raises:
        ValueError: an unclosed fence or setup comment, or a `docs-test`
            comment that does not stand right before a Python block.
    """
    with open(os.path.join(ROOT, page)) as file:
        lines = file.read().split("\n")
    found, mark, i = [], None, 0
    while i < len(lines):
        line = lines[i]
        if _SETUP.match(line):
            end = next((j for j in range(i + 1, len(lines)) if "-->" in lines[j]), None)
            if end is None:
                raise ValueError(f"{page}:{i + 1}: unclosed docs-test setup comment")
            found.append(Block(page, i + 2, "\n".join(lines[i + 1 : end]), "setup"))
            i = end + 1
            continue
        marked = _MARK.match(line)
        if marked:
            if not _FENCE.match(lines[i + 1] if i + 1 < len(lines) else ""):
                raise ValueError(
                    f"{page}:{i + 1}: a docs-test comment must precede a fence"
                )
            mark = marked.groups()
            i += 1
            continue
        fence = _FENCE.match(line)
        if not fence:
            i += 1
            continue
        indent, ticks, language = fence.groups()
        end = next(
            (j for j in range(i + 1, len(lines)) if lines[j].strip().startswith(ticks)),
            None,
        )
        if end is None:
            raise ValueError(f"{page}:{i + 1}: unclosed code fence")
        if language in ("python", "py"):
            code = "\n".join(
                text[len(indent) :] if text.startswith(indent) else text
                for text in lines[i + 1 : end]
            )
            kind, reason = mark if mark else ("run", "")
            if kind == "skip" and not reason:
                raise ValueError(f"{page}:{i + 1}: a skipped block needs a reason")
            found.append(Block(page, i + 2, code, kind, reason))
        elif mark:
            raise ValueError(f"{page}:{i + 1}: docs-test comment on a {language} block")
        mark = None
        i = end + 1
    return found
