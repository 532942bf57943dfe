"""Streaming detectors, one file each. Every detector here runs in `fanzha run`.

Each module's docstring says which fraud it catches, which report motivates it, what it looks at
and what it cannot see. All of them pass `fanzha.engine.check.check_detector`.
"""

from fanzha.detectors.access_anomaly import AccessAnomaly
from fanzha.detectors.access_rules import AccessRules
from fanzha.detectors.fraud_contact import FraudContact
from fanzha.detectors.mule_account import MuleAccount
from fanzha.detectors.registration_risk import RegistrationRisk
from fanzha.detectors.text_fraud import TextFraud

DEFAULT_DETECTORS = (
    FraudContact, MuleAccount, TextFraud, AccessRules, AccessAnomaly, RegistrationRisk,
)

__all__ = [
    "DEFAULT_DETECTORS", "AccessAnomaly", "AccessRules", "FraudContact", "MuleAccount",
    "RegistrationRisk", "TextFraud",
]
