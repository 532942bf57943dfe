"""Channel adapters: what each dissuasion action sends, to whom, with which words.

One adapter per action of the policy's tiers: an SMS, a full-screen flash SMS (class 0, 12381's
闪信), a voice call task with a script, a home visit task for the local police station, an SMS to
an elderly person's registered family number, and a hold request to the person's banks. Messages
come from `templates.yaml` by fraud type (the 12381 types of `fanzha.taxonomy`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from importlib import resources
from typing import Any

import yaml

from fanzha.errors import FanzhaError
from fanzha.privacy.masks import mask_bank_card, mask_phone
from fanzha.taxonomy import FRAUD_TYPE_CODES, fraud_type

# action (as the policy names it) -> channel adapter
CHANNELS = {
    "sms": "sms",
    "flash_sms": "flash_sms",
    "call": "voice_call",
    "home_visit": "visit_task",
    "family_notice": "family_sms",
    "bank_hold": "bank_hold",
}


@dataclass(frozen=True)
class Templates:
    doc: dict[str, Any]

    @classmethod
    def load(cls, text: str | None = None) -> Templates:
        if text is None:
            text = resources.files("fanzha.dispatch").joinpath("templates.yaml").read_text("utf-8")
        try:
            doc = yaml.safe_load(text)
        except yaml.YAMLError as e:
            raise FanzhaError(f"templates: not valid YAML ({str(e).splitlines()[0]})") from None
        if not isinstance(doc, dict) or "default" not in (doc.get("types") or {}):
            raise FanzhaError("templates: need `types:` with a `default` entry")
        return cls(doc)

    def text(self, fraud_type_code: str | None, what: str, values: dict[str, Any]) -> str:
        types = self.doc["types"]
        entry = types.get(fraud_type_code or "default") or types["default"]
        tpl = entry.get(what) or types["default"].get(what) or self.doc["common"][what]
        return tpl.format_map(_Values(values))


class _Values(dict):
    """Missing placeholders stay visible instead of failing the whole dispatch."""

    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def _via(via: str | None, via_kind: str | None) -> str:
    if not via:
        return "陌生联系人"
    if via_kind == "phone":
        return f"号码{mask_phone(via)}"
    if via_kind == "domain":
        return f"网站{via}"
    if via_kind == "app":
        return f"App {via}"
    if via_kind == "bank_account":
        return f"收款账户{mask_bank_card(via)}"
    return via


def build(
    action: str, alert: dict[str, Any], ctx: dict[str, Any], templates: Templates
) -> tuple[str | None, dict[str, Any], str | None]:
    """(recipient, payload, reason it cannot be sent) for one action of one alert."""
    ft = alert.get("fraud_type")
    name = fraud_type(ft).name_zh if ft in FRAUD_TYPE_CODES else "电信网络"
    due = alert.get("sla_due")
    values = {
        "via": _via(ctx.get("via"), ctx.get("via_kind")),
        "fraud_name": name,
        "person": mask_phone(alert["entity"]),
        "age": ctx.get("age") if ctx.get("age") is not None else "?",
        "deadline": due.astimezone(dt.timezone(dt.timedelta(hours=8))).strftime("%m-%d %H:%M")
        if isinstance(due, dt.datetime)
        else "尽快",
        "hotline": templates.doc.get("hotline", "96110"),
        "accounts": "、".join(mask_bank_card(a) for a in ctx.get("accounts") or [])
        or "（待银行查询）",
        "amount_yuan": f"{(ctx.get('amount_fen') or 0) / 100:.2f}",
        "evidence": alert.get("evidence", ""),
    }
    person = alert["entity"]
    if action in ("sms", "flash_sms"):
        text = templates.text(ft, action, values)
        payload = {"to": person, "text": text}
        if action == "flash_sms":
            payload["message_class"] = 0  # shown full-screen, not stored (闪信)
        return person, payload, None
    if action == "call":
        values["script"] = templates.text(ft, "script", values)
        return (
            person,
            {
                "to": person,
                "script": templates.doc["common"]["call"].format_map(_Values(values)),
                "priority": alert.get("tier"),
            },
            None,
        )
    if action == "home_visit":
        return (
            "police_station",
            {
                "person": person,
                "age": ctx.get("age"),
                "brief": templates.doc["common"]["home_visit"].format_map(_Values(values)),
            },
            None,
        )
    if action == "family_notice":
        family = ctx.get("family_phone")
        payload = {
            "to": family,
            "about": person,
            "text": templates.doc["common"]["family_notice"].format_map(_Values(values)),
        }
        return family, payload, None if family else "no family number registered on the SIM card"
    if action == "bank_hold":
        accounts = ctx.get("accounts") or []
        return (
            "banks",
            {
                "person": person,
                "id_number": ctx.get("id_number"),
                "accounts": accounts,
                "payee_account": ctx.get("payee_account"),
                "request": templates.doc["common"]["bank_hold"].format_map(_Values(values)),
            },
            None if (accounts or ctx.get("id_number")) else "no account or ID number known",
        )
    raise FanzhaError(f"no channel for action {action!r}; known actions: {', '.join(CHANNELS)}")
