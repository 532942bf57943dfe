"""Recognisers as data, one module per group of identifiers.

A `NumberRule` classifies a run of digits (found in every script and through separators by
`fanzha.privacy.normalize.run_regex`) by its length and a validation hook from `fanzha.ids`; a
`PatternRule` is a regular expression over the raw text (its match is folded) with its own hook.
Context words raise the confidence or, for numbers that are only personal next to them (QQ
numbers, 8-digit local landlines), are required. Names and addresses have their own modules
(`names`, `addresses`).
"""

from __future__ import annotations

from fanzha.privacy.recognizers import cards, ids, net, phones, plates
from fanzha.privacy.recognizers._rules import NumberRule, PatternRule

NUMBER_RULES: tuple[NumberRule, ...] = (
    *ids.NUMBER_RULES,
    *phones.NUMBER_RULES,
    *cards.NUMBER_RULES,
)
PATTERN_RULES: tuple[PatternRule, ...] = (
    *ids.PATTERN_RULES,
    *phones.PATTERN_RULES,
    *net.PATTERN_RULES,
    *plates.PATTERN_RULES,
)

__all__ = ["NUMBER_RULES", "PATTERN_RULES", "NumberRule", "PatternRule"]
