"""Personal-information desensitiser for Chinese data: waybills, records, free text.

Waybills stolen from cloud warehouses sell at 3-5 yuan each and feed fake-refund scams; the
Anti-Telecom-Network-Fraud Law (art. 29) and PIPL require logistics, transaction, loan, medical
and marriage data to be protected. This package finds personal information (detect), masks it by
type and profile (masks: display, GB/T 41833-2022 waybill), replaces it with keyed pseudonyms,
valid fakes or reversible SM4/AES-GCM tokens (keyed), and applies YAML policies to text, records,
Arrow tables and CSV/JSONL/Parquet files (policy, structured).

The API the console and the HTTP API use to mask by role:

    find_pii(text)                        -> [Finding(type, start, end, text, confidence, rule)]
    mask_text(text, profile="display")    -> str
    mask_value(type, value, profile)      -> str
    mask_record(record, policy="display") -> dict
    mask_table(table, policy="display")   -> pa.Table
"""

from __future__ import annotations

import functools
from typing import Any

import pyarrow as pa

from fanzha.privacy.detect import Scanner, find_pii
from fanzha.privacy.findings import PATTERN_TYPES, TYPES, Finding
from fanzha.privacy.keyed import Keys, decrypt, encrypt, fake, pseudonym
from fanzha.privacy.masks import PROFILES, mask_value
from fanzha.privacy.policy import BUILT_IN, Policy, PolicyError, load_policy
from fanzha.privacy.structured import Masker, MaskSummary, mask_file, mask_lines


@functools.cache
def masker(policy: str = "display", keys: Keys | None = None) -> Masker:
    """The shared masker of a built-in policy or policy file (cached per policy and key)."""
    return Masker(policy, keys if keys is not None else Keys.from_env())


def mask_text(text: str, profile: str = "display", keys: Keys | None = None) -> str:
    """Free text with every finding masked; `profile` is a policy (display, waybill, redact,
    export or a YAML file)."""
    return masker(profile, keys).mask_text(text)


def mask_record(record: dict[str, Any], policy: str = "display", keys: Keys | None = None) -> dict:
    return masker(policy, keys).mask_record(record)


def mask_table(table: pa.Table, policy: str = "display", keys: Keys | None = None) -> pa.Table:
    return masker(policy, keys).mask_table(table)


__all__ = [
    "BUILT_IN",
    "PATTERN_TYPES",
    "PROFILES",
    "TYPES",
    "Finding",
    "Keys",
    "MaskSummary",
    "Masker",
    "Policy",
    "PolicyError",
    "Scanner",
    "decrypt",
    "encrypt",
    "fake",
    "find_pii",
    "load_policy",
    "mask_file",
    "mask_lines",
    "mask_record",
    "mask_table",
    "mask_text",
    "mask_value",
    "masker",
    "pseudonym",
]
