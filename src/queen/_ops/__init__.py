"""The operator verbs of the ``queen`` command (queues, groups, lag, seek, messages,
dlq, traces, tail, push, health, metrics, maintenance) over ``queen.admin``.

Each verb is one module with ``HELP`` (one line), ``build_parser(parser)`` and
``run(args) -> int`` (0 ok, 1 the server said no, 2 usage); ``VERBS`` maps verb
names to modules for the command's registry.
"""

from __future__ import annotations

from typing import Dict

VERBS: Dict[str, str] = {
    name: f"{__name__}.{module}"
    for name, module in (
        ("queues", "queues"), ("queue", "queue"), ("groups", "groups"), ("lag", "lag"),
        ("seek", "seek"), ("messages", "messages"), ("dlq", "dlq"), ("traces", "traces"),
        ("tail", "tail"), ("push", "push"), ("health", "health"), ("metrics", "metrics"),
        ("maintenance", "maintenance"),
    )
}

__all__ = ["VERBS"]
