"""Chinese identifiers: parse to a normalised value or a typed error that says why.

Each module has `parse()`, `is_valid()` and a `fake()` generator of valid values for tests and
simulation: resident_id (GB 11643, permits), phone (mobile/landline/service), bank_card (Luhn as
confidence), uscc (GB 32100), permits (HK/Macau permits, passports), plate (GA 36).
"""

from fanzha.ids import bank_card, permits, phone, plate, resident_id, uscc
from fanzha.ids._common import (
    IdError,
    InvalidChecksum,
    InvalidDate,
    InvalidFormat,
    InvalidLength,
    InvalidPrefix,
    InvalidRegion,
)

__all__ = [
    "IdError",
    "InvalidChecksum",
    "InvalidDate",
    "InvalidFormat",
    "InvalidLength",
    "InvalidPrefix",
    "InvalidRegion",
    "bank_card",
    "permits",
    "phone",
    "plate",
    "resident_id",
    "uscc",
]
