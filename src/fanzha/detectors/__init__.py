"""Streaming detectors, one file each. Every detector here runs in `fanzha run`.

Each module's docstring says which fraud it catches, which report motivates it, what it looks at
and what it cannot see. All of them pass `fanzha.engine.check.check_detector`.
"""

from fanzha.detectors.fraud_contact import FraudContact
from fanzha.detectors.fraud_number import FraudNumber

DEFAULT_DETECTORS = (FraudContact, FraudNumber)

__all__ = ["DEFAULT_DETECTORS", "FraudContact", "FraudNumber"]
