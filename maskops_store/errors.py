"""The errors every store raises, on both sides of the system."""

from __future__ import annotations


class StoreError(RuntimeError):
    """The store could not do what was asked; the message names the key and the store (bucket)."""

    def __init__(self, message: str, *, store: str = "", key: str = "") -> None:
        super().__init__(message)
        self.store = store
        self.key = key

    def __str__(self) -> str:
        # KeyError (a base of ObjectNotFoundError) would otherwise print the repr of args[0]
        return str(self.args[0]) if self.args else ""


class ObjectNotFoundError(StoreError, KeyError):
    """A key that does not exist was read."""

    def __init__(self, store: str, key: str) -> None:
        super().__init__(f"{store}: no object at key {key!r}", store=store, key=key)


class UnsafeKeyError(StoreError, ValueError):
    """A key (or prefix) that is not a relative, normalised object key: refused in every backend."""

    def __init__(self, key: object, why: str) -> None:
        super().__init__(f"refusing unsafe object key {key!r}: {why}", key=str(key))
