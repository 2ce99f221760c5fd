"""The compatibility tests share the integration tests' queue fixture."""

from integration.conftest import make_queue

__all__ = ["make_queue"]
