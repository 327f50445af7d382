"""Griffe extension: the docstrings' doctest examples as `pycon` code blocks.

The package's docstrings put their examples, which `--doctest-modules`
runs, as plain `>>>` lines after "Example:". Markdown would read `>>>` as
nested quotes; this turns each run of `>>>` / `...` lines and the output
after them (up to a blank line) into a fenced `pycon` block, and drops
`# doctest: ...` directives, before mkdocstrings parses the docstring.
"""

import re

import griffe

_PROMPT = re.compile(r"^(\s*)(>>>|\.\.\.)( |$)")
_DIRECTIVE = re.compile(r"\s*# doctest:.*$")


def fence_doctests(text):
    """`text` with every doctest run wrapped in a ```pycon fence.

    Args:
        text: a docstring (already dedented).

    Returns:
        The docstring, doctests fenced; other lines unchanged.
    """
    lines, out, i = text.split("\n"), [], 0
    while i < len(lines):
        match = _PROMPT.match(lines[i])
        if not match or match.group(2) != ">>>":
            out.append(lines[i])
            i += 1
            continue
        indent = match.group(1)
        out.append(f"{indent}```pycon")
        while i < len(lines) and lines[i].strip():
            out.append(_DIRECTIVE.sub("", lines[i]))
            i += 1
        out.append(f"{indent}```")
    return "\n".join(out)


class DoctestFences(griffe.Extension):
    """Fences the doctests of every object's docstring."""

    def on_instance(self, *, obj, **kwargs):
        if obj.docstring is not None and ">>>" in obj.docstring.value:
            obj.docstring.value = fence_doctests(obj.docstring.value)
