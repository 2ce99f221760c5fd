"""HTTP layer: the transport (pooling, retries, failover) and the server balancer."""

from .balancer import Balancer
from .transport import Response, Transport

__all__ = ["Balancer", "Response", "Transport"]
