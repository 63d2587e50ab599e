"""Backend routing: a name (a site's setting or an API/command argument) → a backend instance."""

from .base import Backend, BackendUnavailable, Classification, Explanation

BACKEND_NAMES = ("embedded",)
DEFAULT_BACKEND = "embedded"


def get_backend(name: str = DEFAULT_BACKEND) -> Backend:
    if name == "embedded":
        from .embedded import EmbeddedBackend

        return EmbeddedBackend()
    raise BackendUnavailable(f"unknown backend {name!r}; known: {', '.join(BACKEND_NAMES)}")


__all__ = ["Backend", "BackendUnavailable", "Classification", "Explanation", "get_backend", "BACKEND_NAMES", "DEFAULT_BACKEND"]
