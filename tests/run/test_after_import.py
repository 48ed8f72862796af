"""``AfterImport`` calls back once a module has imported, also when a first attempt failed."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import pytest

from gradsight.run.after_import import AfterImport


@pytest.fixture
def on_path(tmp_path: Path):
    sys.path.insert(0, str(tmp_path))
    yield tmp_path
    sys.path.remove(str(tmp_path))
    for name in [n for n in sys.modules if n.startswith("gs_flaky")]:
        del sys.modules[name]


def test_a_failed_first_import_still_calls_back_on_the_next(on_path: Path) -> None:
    """TensorFlow imports keras half-way through its own import; that attempt fails on the
    circular import and TensorFlow imports keras again later: the watch must attach then."""
    (on_path / "gs_flaky_state.py").write_text("attempts = 0\n")
    (on_path / "gs_flaky.py").write_text(textwrap.dedent("""
        import gs_flaky_state
        gs_flaky_state.attempts += 1
        if gs_flaky_state.attempts == 1:
            raise ImportError("not yet")
        VALUE = 42
    """))
    seen = []
    hook = AfterImport("gs_flaky", lambda module: seen.append(module.VALUE)).install()
    try:
        with pytest.raises(ImportError, match="not yet"):
            import gs_flaky  # noqa: F401
        assert seen == [] and "gs_flaky" not in sys.modules
        import gs_flaky  # noqa: F401, F811
        assert seen == [42]
        assert hook not in sys.meta_path  # done: it waits for nothing more
    finally:
        hook.remove()


def test_a_lookup_without_an_import_leaves_the_hook_waiting(on_path: Path) -> None:
    """``importlib.util.find_spec`` (TensorFlow's probe for keras) finds but does not import."""
    import importlib.util

    (on_path / "gs_flaky_probe.py").write_text("VALUE = 3\n")
    seen = []
    hook = AfterImport("gs_flaky_probe", lambda module: seen.append(module.VALUE)).install()
    try:
        assert importlib.util.find_spec("gs_flaky_probe") is not None
        assert seen == [] and hook in sys.meta_path
        import gs_flaky_probe  # noqa: F401
        assert seen == [3]
    finally:
        hook.remove()


def test_an_import_that_succeeds_calls_back_once(on_path: Path) -> None:
    (on_path / "gs_flaky_once.py").write_text("VALUE = 7\n")
    seen = []
    hook = AfterImport("gs_flaky_once", lambda module: seen.append(module.VALUE)).install()
    import gs_flaky_once  # noqa: F401
    import gs_flaky_once  # noqa: F401, F811
    assert seen == [7] and hook not in sys.meta_path
