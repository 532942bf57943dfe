"""Streaming detectors, one file each. Every detector here runs in `fanzha run`.

Each module's docstring says which fraud it catches, which report motivates it, what it looks at
and what it cannot see. All of them pass `fanzha.engine.check.check_detector`.
"""

from fanzha.detectors.fraud_contact import FraudContact
from fanzha.detectors.registration_risk import RegistrationRisk

DEFAULT_DETECTORS = (FraudContact, RegistrationRisk)

__all__ = ["DEFAULT_DETECTORS", "FraudContact", "RegistrationRisk"]
