"""The two ways gradsight touches a framework, shared by every adapter.

``Patches`` replaces attributes (a class's method, a module's function) while watching and puts
back each original when watching ends, but only where the attribute is still gradsight's: if
something else replaced it after us, theirs stays (our wrapper, still in their chain, has gone
quiet by then: every wrapper checks its ``Guard``).

``Guard`` runs gradsight's own code inside a hook or wrapper. An exception there is recorded as
an ``adapter_error`` event (what failed, at which step) and turns that part of the watching
off; the user's training goes on exactly as it would without gradsight, and the diagnosis says
what was lost. The user's own exceptions are never caught here: a wrapper calls the original
outside the guard.
"""

from __future__ import annotations

from typing import Any, Callable, Protocol, TypeVar

T = TypeVar("T")
_MISSING = object()


class ErrorSink(Protocol):
    def error(self, part: str, exc: BaseException, step: int | None = None) -> None: ...


class Patches:
    """Attributes replaced while watching.

    >>> import types
    >>> box = types.SimpleNamespace(f=len)
    >>> patches = Patches(); original = patches.replace(box, "f", lambda x: 0)
    >>> box.f("abc"), original("abc")
    (0, 3)
    >>> patches.restore(); box.f("abc")
    3
    """

    def __init__(self) -> None:
        self._saved: list[tuple[Any, str, Any, Any]] = []

    def replace(self, owner: Any, name: str, new: Any) -> Any:
        """Set ``owner.name = new``; returns what was there (found through the class chain)."""
        own = owner.__dict__.get(name, _MISSING) if hasattr(owner, "__dict__") else _MISSING
        original = getattr(owner, name)
        self._saved.append((owner, name, own, new))
        setattr(owner, name, new)
        return original

    def wrap(self, owner: Any, name: str, make: Callable[[Any], Any]) -> Any:
        """``replace(owner, name, make(original))``; returns the original."""
        original = getattr(owner, name)
        own = owner.__dict__.get(name, original) if hasattr(owner, "__dict__") else original
        self.replace(owner, name, make(own))
        return original

    def restore(self) -> None:
        """Put the originals back, newest first, where the attribute is still ours."""
        for owner, name, own, new in reversed(self._saved):
            current = owner.__dict__.get(name, _MISSING) if hasattr(owner, "__dict__") else (
                getattr(owner, name, _MISSING))
            if current is not new:
                continue  # replaced again since: leave the newer one in place
            if own is _MISSING:
                delattr(owner, name)
            else:
                setattr(owner, name, own)
        self._saved = []

    def __len__(self) -> int:
        return len(self._saved)


class Guard:
    """Runs one part of gradsight's watching; its first exception switches the part off.

    >>> class Sink:
    ...     def error(self, part, exc, step=None): print(part, type(exc).__name__)
    >>> guard = Guard(Sink(), "torch.step")
    >>> guard.run(lambda: 1 / 0)
    torch.step ZeroDivisionError
    >>> guard.active, guard.run(lambda: 2)
    (False, None)
    """

    def __init__(self, sink: ErrorSink, part: str, step: Callable[[], int] | None = None
                 ) -> None:
        self.sink = sink
        self.part = part
        self.active = True
        self._step = step

    def run(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T | None:
        if not self.active:
            return None
        try:
            return fn(*args, **kwargs)
        except Exception as exc:  # gradsight's own bug: never the user's training's problem
            self.fail(exc)
            return None

    def fail(self, exc: BaseException) -> None:
        if not self.active:
            return
        self.active = False
        try:
            step = self._step() if self._step is not None else None
            self.sink.error(self.part, exc, step)
        except Exception:  # recording the error must not fail the user's step either
            pass
