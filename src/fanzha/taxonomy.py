"""Fraud types, as the 12381 warning system and police case reports organise them.

Codes are stable ASCII names; each has its Chinese name and the labels other data sets and partners
use for it, so that `normalize_fraud_type` maps all of them onto one code.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FraudType:
    code: str
    name_zh: str
    name_en: str
    aliases: tuple[str, ...] = ()


FRAUD_TYPES: tuple[FraudType, ...] = (
    FraudType("rebate_scam", "刷单返利", "click-farming rebate scam", ("刷单", "刷单返利类")),
    FraudType(
        "fake_investment",
        "虚假网络投资理财",
        "fake online investment",
        ("投资理财", "虚假投资理财", "虚假网络投资理财类"),
    ),
    FraudType(
        "fake_loan",
        "虚假网络贷款",
        "fake loan or credit card service",
        ("贷款、代办信用卡类", "贷款、代办信用卡", "虚假贷款", "代办信用卡", "虚假网络贷款类"),
    ),
    FraudType(
        "fake_customer_service",
        "冒充电商物流客服",
        "fake e-commerce/logistics customer service",
        ("冒充客服服务", "冒充客服", "冒充电商物流客服类", "客服退款", "冒充客服类"),
    ),
    FraudType(
        "impersonate_authority",
        "冒充公检法及政府机关",
        "impersonating police or government",
        ("冒充公检法及政府机关类", "冒充公检法", "冒充政府机关"),
    ),
    FraudType(
        "fake_credit_repair", "虚假征信", "fake credit-record repair", ("虚假征信类", "注销校园贷")
    ),
    FraudType(
        "fake_shopping", "虚假购物、服务", "fake shopping or service", ("虚假购物", "虚假购物服务")
    ),
    FraudType(
        "impersonate_acquaintance",
        "冒充领导、熟人",
        "impersonating a leader or acquaintance",
        ("冒充领导、熟人类", "冒充领导熟人", "冒充熟人", "冒充领导"),
    ),
    FraudType(
        "fake_game_trade",
        "网络游戏产品虚假交易",
        "fake online game trade",
        ("游戏交易", "网游虚假交易"),
    ),
    FraudType(
        "online_romance",
        "网络婚恋、交友",
        "online romance or dating scam",
        ("杀猪盘", "网络交友", "婚恋交友"),
    ),
    FraudType(
        "medical_insurance",
        "冒充医保社保",
        "impersonating medical or social insurance",
        ("医保", "冒充医保", "村推", "地推"),
    ),
    FraudType("other", "其他", "other fraud", ("其它",)),
)

_BY_KEY: dict[str, str] = {}
for _t in FRAUD_TYPES:
    for _k in (_t.code, _t.name_zh, _t.name_en, *_t.aliases):
        _BY_KEY[_k.strip().lower()] = _t.code

FRAUD_TYPE_CODES: tuple[str, ...] = tuple(t.code for t in FRAUD_TYPES)


def normalize_fraud_type(value: str) -> str | None:
    """Return the fraud-type code for a code, Chinese name or known alias; None if unknown."""
    return _BY_KEY.get(value.strip().lower())


def fraud_type(code: str) -> FraudType:
    for t in FRAUD_TYPES:
        if t.code == code:
            return t
    raise KeyError(code)
