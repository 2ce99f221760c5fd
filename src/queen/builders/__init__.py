"""Fluent builders returned by ``Queen``: thin objects that collect options and
call the engines and ``wire``."""

from .dlq import DLQBuilder
from .push import PushBuilder
from .queue import QueueBuilder
from .transaction import TransactionBuilder, TransactionQueue

__all__ = ["DLQBuilder", "PushBuilder", "QueueBuilder", "TransactionBuilder", "TransactionQueue"]
