"""Compiled kernels with pure-Python twins.

Each kernel ``X`` lives in ``_X.pyx`` (compiled) and ``_X_py.py`` (pure), with the
same public names and behaviour. The compiled twin is used unless
``QUEEN_NO_EXTENSIONS`` is set (to anything but ""/"0") or it failed to build.
``COMPILED`` tells which is active. This package imports nothing from the rest of
``queen``: errors are raised as TypeError/ValueError and translated by callers.
"""
