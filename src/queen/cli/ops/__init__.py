"""The operator verbs of the ``queen`` command (queues, queue, groups, lag, seek,
messages, dlq, traces, tail, push, health, metrics, maintenance) over ``queen.admin``.

Each verb is one module with ``HELP`` (one line), ``build_parser(parser)`` and
``run(args) -> int`` (0 ok, 1 the server said no, 2 usage), registered in
``queen.cli.VERBS``; ``common`` holds what they share.
"""
