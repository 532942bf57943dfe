"""Dataset labels onto fanzha's fraud types (the 12381 system's types, `fanzha.taxonomy`).

Public fraud-text sets label their rows in their own words: "冒充客服服务", "贷款、代办信用卡类",
"0" for normal text, true/false for fraud or not. A model keeps the dataset's labels (so its output
can be compared with the set) and, beside each, the taxonomy code it stands for, so that
detectors and reports speak one language. "" means "not fraud".
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from fanzha.errors import FanzhaError
from fanzha.taxonomy import FRAUD_TYPE_CODES, normalize_fraud_type

NOT_FRAUD = ""
# Labels that mean "not fraud" in the sets we know (compared lower-case, stripped).
NORMAL_LABELS = frozenset({"0", "false", "no", "normal", "ham", "negative", "正常", "非诈骗", "否"})
# Labels that mean "fraud, type not given".
FRAUD_LABELS = frozenset({"1", "true", "yes", "fraud", "scam", "positive", "诈骗", "是"})


def fraud_type_of_label(label: str, overrides: Mapping[str, str] | None = None) -> str | None:
    """The taxonomy code of a dataset label, "" if it means not fraud, None if unknown.

    `overrides` (label -> code, or -> "normal") come first: a partner's own label set.
    """
    if overrides and label in overrides:
        code = overrides[label].strip()
        if code.lower() in ("normal", "not_fraud", "") or code.lower() in NORMAL_LABELS:
            return NOT_FRAUD
        mapped = normalize_fraud_type(code)
        if mapped is None:
            raise FanzhaError(
                f"--label-map {label}={code}: {code!r} is not a fraud type; "
                f"use one of {', '.join(FRAUD_TYPE_CODES)} or 'normal'"
            )
        return mapped
    key = label.strip().lower()
    if key in NORMAL_LABELS:
        return NOT_FRAUD
    if (code := normalize_fraud_type(label)) is not None:
        return code
    if key in FRAUD_LABELS:
        return "other"
    return None


def fraud_types_for(
    labels: Iterable[str], overrides: Mapping[str, str] | None = None
) -> dict[str, str]:
    """Map every label of a training set; a clear error names the labels that do not map."""
    out: dict[str, str] = {}
    unknown = []
    for label in sorted(set(labels)):
        code = fraud_type_of_label(label, overrides)
        if code is None:
            unknown.append(label)
        else:
            out[label] = code
    if unknown:
        raise FanzhaError(
            f"label(s) {', '.join(map(repr, unknown))} do not map onto a fraud type; "
            f"say what they are with --label-map LABEL=CODE (CODE one of "
            f"{', '.join(FRAUD_TYPE_CODES)}, or 'normal')"
        )
    return out
