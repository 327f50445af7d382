"""Every Python code block of README.md and docs/ runs (tests/docs/markdown_blocks.py
says how blocks are marked). A page's blocks run in order in one namespace,
in a fresh folder; a failure names the page and line of the block."""

import os
import traceback

import pytest

from tests.docs import markdown_blocks

PAGES = markdown_blocks.pages()
BACKEND = os.environ.get("KERAS_BACKEND", "tensorflow")


def _run(page, kinds, tmp_path, monkeypatch):
    import keras

    monkeypatch.chdir(tmp_path)
    environment = dict(os.environ)
    # What a page may set globally, restored for the tests after it.
    policy = keras.config.dtype_policy()
    distribution = keras.distribution.distribution()
    namespace = {"__name__": "__main__"}
    ran = 0
    try:
        for block in markdown_blocks.blocks(page):
            if block.kind not in kinds:
                continue
            try:
                exec(compile(block.code, block.name, "exec"), namespace)
            except Exception:
                pytest.fail(
                    f"the code block at {block.name} failed:\n{traceback.format_exc()}"
                )
            ran += block.kind != "setup"
    finally:
        os.environ.clear()
        os.environ.update(environment)
        keras.config.set_dtype_policy(policy)
        keras.distribution.set_distribution(distribution)
    return ran


def _pages_with(kind):
    return [p for p in PAGES if any(b.kind == kind for b in markdown_blocks.blocks(p))]


@pytest.mark.parametrize("page", _pages_with("run"))
def test_code_blocks_run(page, tmp_path, monkeypatch):
    assert _run(page, ("setup", "run"), tmp_path, monkeypatch)


@pytest.mark.backend_neutral
@pytest.mark.parametrize("page", _pages_with("jax"))
def test_jax_code_blocks_run(page, tmp_path, monkeypatch):
    if BACKEND != "jax":
        pytest.skip("a JAX block: runs in the JAX pass (KERAS_BACKEND=jax)")
    assert _run(page, ("setup", "jax"), tmp_path, monkeypatch)


@pytest.mark.parametrize(
    "block",
    [b for p in PAGES for b in markdown_blocks.blocks(p) if b.kind == "skip"],
    ids=lambda block: block.name,
)
def test_skipped_code_blocks_compile(block):
    """A skipped block is not run, but it must still be valid Python."""
    compile(block.code, block.name, "exec")
    pytest.skip(block.reason)


@pytest.mark.backend_neutral
def test_markers_are_read(tmp_path):
    page = tmp_path / "page.md"
    page.write_text(
        "<!-- docs-test: setup\nx = 1\n-->\n\n```python\ny = x\n```\n\n"
        "<!-- docs-test: skip needs a TPU -->\n```python\nz = 2\n```\n"
        "<!-- docs-test: jax -->\n```python\nw = 3\n```\n```bash\nls\n```\n"
    )
    found = markdown_blocks.blocks(str(page))
    assert [(b.kind, b.line, b.code, b.reason) for b in found] == [
        ("setup", 2, "x = 1", ""),
        ("run", 6, "y = x", ""),
        ("skip", 11, "z = 2", "needs a TPU"),
        ("jax", 15, "w = 3", ""),
    ]
    page.write_text("<!-- docs-test: skip -->\n```python\nz = 2\n```\n")
    with pytest.raises(ValueError, match="needs a reason"):
        markdown_blocks.blocks(str(page))
