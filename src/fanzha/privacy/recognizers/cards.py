"""Bank card numbers (16-19 digits; 19-digit UnionPay cards too): the mule accounts' cards that
fraud listings and chats carry. Luhn failure lowers the confidence (fanzha.ids.bank_card)."""

from __future__ import annotations

from fanzha.ids import IdError, bank_card
from fanzha.privacy.recognizers._rules import NumberRule


def _card(digits: str) -> float | None:
    try:
        return bank_card.parse(digits).confidence
    except IdError:
        return None


NUMBER_RULES = (
    NumberRule(
        "bank_card.luhn",
        "bank_card",
        frozenset(range(16, 20)),
        _card,
        context=(
            "卡号",
            "银行卡",
            "账号",
            "帐号",
            "储蓄卡",
            "信用卡",
            "借记卡",
            "收款",
            "转账",
            "card",
        ),
        context_boost=0.1,
    ),
)
