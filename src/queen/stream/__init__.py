"""Windowed streams of Queen 0.7.x: the Window helper and the stream consumer."""

from .consumer import StreamConsumer
from .window import Window

__all__ = ["StreamConsumer", "Window"]
