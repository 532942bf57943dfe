"""Streaming detectors, one file each. Every detector here runs in `fanzha run`.

Each module's docstring says which fraud it catches, which report motivates it, what it looks at
and what it cannot see. All of them pass `fanzha.engine.check.check_detector`.
"""

from fanzha.detectors.access_anomaly import AccessAnomaly
from fanzha.detectors.access_rules import AccessRules
from fanzha.detectors.card_risk import CardRisk
from fanzha.detectors.fraud_app import FraudApp
from fanzha.detectors.fraud_contact import FraudContact
from fanzha.detectors.fraud_number import FraudNumber
from fanzha.detectors.fraud_url import FraudUrl
from fanzha.detectors.mule_account import MuleAccount
from fanzha.detectors.registration_risk import RegistrationRisk
from fanzha.detectors.text_fraud import TextFraud
from fanzha.detectors.victim_risk import VictimRisk

DEFAULT_DETECTORS = (
    FraudContact, FraudNumber, FraudUrl, FraudApp, TextFraud, VictimRisk, MuleAccount,
    AccessRules, AccessAnomaly, RegistrationRisk, CardRisk,
)

__all__ = [
    "DEFAULT_DETECTORS", "AccessAnomaly", "AccessRules", "CardRisk", "FraudApp", "FraudContact",
    "FraudNumber", "FraudUrl",
    "MuleAccount", "RegistrationRisk", "TextFraud", "VictimRisk",
]
