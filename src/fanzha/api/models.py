"""The HTTP API's contract: request and response bodies (the OpenAPI document is made from these).

Money is integer fen, times are UTC (ISO 8601), identifiers are normalised as at ingest. Personal
data in responses is masked unless the caller may and did ask otherwise (see `fanzha.api.views`).
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from enum import Enum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from fanzha.events import KINDS, kind
from fanzha.ingest.validate import TIME_UNITS_MS

EventKindName = Enum("EventKindName", {k: k for k in KINDS}, type=str)  # type: ignore[misc]
TargetKind = Literal["phone", "url", "domain", "app", "account", "bank_account"]
Token = Field(min_length=1, max_length=128)

CONTACT_OUTCOMES = (
    "reached_dissuaded",  # reached, warned, the person understood
    "reached_not_at_risk",  # reached, no fraud going on
    "reached_already_paid",  # reached too late: the money is gone (open a case)
    "no_answer",
    "wrong_number",
    "refused",
)
ESCALATE_TO = ("police", "home_visit", "family", "bank_hold", "supervisor")
RESOLUTIONS = ("dissuaded", "no_loss", "false_alarm", "victim_paid", "duplicate", "unreachable")
ALERT_STATUSES = ("open", "assigned", "contacted", "escalated", "closed", "reopened")


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Problem(BaseModel):
    detail: Any = Field(description="Why the request failed (one line, or validation errors).")


# --- meta ----------------------------------------------------------------------------------------
class Health(BaseModel):
    status: Literal["ok"]
    version: str


class Me(BaseModel):
    key_id: str
    org: str
    role: str
    verified_citizen: bool
    may_ingest: list[str]


# --- ingest --------------------------------------------------------------------------------------
class FileSummary(BaseModel):
    path: str
    kind: str
    read: int
    accepted: int
    duplicate: int
    quarantined: int
    reasons: dict[str, int]
    error: str | None
    ignored_columns: list[str]


class IngestSummary(BaseModel):
    """The same summary as `fanzha ingest --json`: read = accepted + duplicate + quarantined."""

    batch_id: int
    read: int
    accepted: int
    duplicate: int
    quarantined: int
    reasons: dict[str, int] = Field(description="reason code -> rows quarantined for it")
    failed_files: int
    files: list[FileSummary]


class IngestOptions(Strict):
    tz: str = Field("Asia/Shanghai", description="Time zone of times without an offset.")
    money_unit: Literal["fen", "yuan"] = "fen"
    time_unit: Literal[tuple(TIME_UNITS_MS)] | None = Field(  # type: ignore[valid-type]
        None, description="Unit of integer time fields."
    )
    epoch: dt.datetime | None = Field(None, description="Integer times count from this instant.")
    max_future_hours: float = Field(24.0, gt=0, le=24 * 3650)
    column_map: dict[str, str] = Field(
        default_factory=dict, description="fanzha field -> the name your rows use for it."
    )

    @field_validator("tz")
    @classmethod
    def _tz(cls, v: str) -> str:
        try:
            zoneinfo.ZoneInfo(v)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {v!r}") from None
        return v

    @field_validator("epoch")
    @classmethod
    def _epoch(cls, v: dt.datetime | None) -> dt.datetime | None:
        return v.replace(tzinfo=dt.UTC) if v is not None and v.tzinfo is None else v


class EventBatch(Strict):
    events: list[dict[str, Any]] = Field(
        min_length=1,
        max_length=100_000,
        description="Events of the kind in the path, as `GET /v1/kinds/{kind}/schema` describes "
        "them. Bad rows are quarantined with their reason; the others go in.",
    )
    options: IngestOptions = Field(default_factory=IngestOptions)


class KindInfo(BaseModel):
    name: str
    doc: str
    partner: str
    fields: list[str]
    required: list[str]


# --- intelligence --------------------------------------------------------------------------------
class IntelEvent(BaseModel):
    ts: dt.datetime
    by: str = Field(description="reporter kind (citizen, police, ...) or detector")
    source: str | None = Field(None, description="the reporter kind or the detector's name")
    verdict: str
    status: str
    changed: bool = False
    text: str | None = None


class IntelEntry(BaseModel):
    kind: str
    value: str
    status: Literal["unknown", "reported", "suspected", "confirmed", "cleared"]
    fraud_type: str | None = None
    source: str | None = Field(None, description="who set the status (police, a detector, ...)")
    confidence: float = 0.0
    first_seen: dt.datetime | None = None
    last_seen: dt.datetime | None = None
    expires: dt.datetime | None = Field(None, description="the listing stops alerting then")
    active: bool = Field(False, description="suspected or confirmed and not expired")
    reports: int = 0
    reporters: int = 0
    history: list[IntelEvent] | None = Field(
        None, description="Each fact and the status after it (analysts and police only)."
    )


class ReportIn(Strict):
    target_kind: TargetKind
    target_value: str = Field(min_length=1, max_length=2048)
    verdict: Literal["report", "confirm", "clear"] = Field(
        "report", description="confirm / clear: police and the centre only."
    )
    fraud_type: str | None = Field(None, max_length=64)
    text: str | None = Field(None, max_length=65536, description="What the reporter said.")
    reporter: str | None = Field(
        None, max_length=128, description="The reporter's phone (a citizen's session: its own)."
    )
    ts: dt.datetime | None = Field(None, description="When (default: now).")
    report_id: str | None = Field(None, max_length=128)


class ReportOut(BaseModel):
    accepted: bool
    duplicate: bool
    event_id: str | None
    intel: IntelEntry | None
    summary: IngestSummary


# --- alerts --------------------------------------------------------------------------------------
class Alert(BaseModel):
    alert_id: str
    rule: str
    entity_kind: str
    entity: str
    tier: Literal["low", "medium", "high"] = Field(description="The engine's tier (policy).")
    actions: list[str] = Field(description="What the policy asks for (sms, call, visit, ...).")
    fraud_type: str | None
    score: float
    first_ts: dt.datetime
    last_ts: dt.datetime
    last_seq: int
    n_signals: int
    evidence: str
    sla_due: dt.datetime | None
    escalations: int = Field(description="Times the engine raised the tier.")
    policy_version: str
    status: Literal[ALERT_STATUSES] = Field(  # type: ignore[valid-type]
        description="From analysts' actions; reopened: new signals came after it was closed."
    )
    assignee: str | None
    outcome: str | None = Field(description="The last contact outcome.")
    escalated_to: list[str]
    resolution: str | None
    last_action_ts: dt.datetime | None


class AlertPage(BaseModel):
    total: int
    alerts: list[Alert]


class AlertActionIn(Strict):
    action: Literal["assign", "contact", "escalate", "close", "reopen", "note"]
    assignee: str | None = Field(None, min_length=1, max_length=128)
    outcome: Literal[CONTACT_OUTCOMES] | None = None  # type: ignore[valid-type]
    escalate_to: Literal[ESCALATE_TO] | None = None  # type: ignore[valid-type]
    resolution: Literal[RESOLUTIONS] | None = None  # type: ignore[valid-type]
    note: str | None = Field(None, max_length=4000)
    action_id: str | None = Field(
        None,
        min_length=8,
        max_length=64,
        pattern=r"^[A-Za-z0-9_.:-]+$",
        description="Your idempotency key: the same id sent again records nothing new.",
    )

    @model_validator(mode="after")
    def _needs(self) -> AlertActionIn:
        need = {
            "assign": "assignee",
            "contact": "outcome",
            "escalate": "escalate_to",
            "close": "resolution",
            "note": "note",
        }.get(self.action)
        if need and getattr(self, need) is None:
            raise ValueError(f"a {self.action} action needs {need}")
        return self


class AlertAction(BaseModel):
    action_id: str
    alert_id: str
    ts: dt.datetime
    actor: str
    org: str
    role: str
    action: str
    assignee: str | None
    outcome: str | None
    escalate_to: str | None
    resolution: str | None
    note: str | None
    alert_last_seq: int | None


class AlertDetail(Alert):
    history: list[AlertAction]


class AlertActionResult(BaseModel):
    created: bool = Field(description="False when this action_id was recorded before.")
    action: AlertAction
    alert: Alert


# --- cases and traces ----------------------------------------------------------------------------
class CaseSummary(BaseModel):
    case_id: str
    status: str
    victim_payments: int
    victim_paid_fen: int | None
    remaining_fen: int | None
    freeze_orders: int


class Case(BaseModel):
    case_id: str
    status: str
    data: dict[str, Any] = Field(
        description="The saved trace: roots, accounts, flows, freeze_orders, totals."
    )


class TraceIn(Strict):
    transfers: list[str] = Field(
        default_factory=list, max_length=1000, description="Victims' payments (transfer ids)."
    )
    account: str | None = Field(None, max_length=128, description="Trace this account's payments")
    since: dt.datetime | None = Field(None, description="... from this time")
    until: dt.datetime | None = Field(None, description="... to this time (default +48 h)")
    case: str | None = Field(None, max_length=128, description="Trace every victim of a case.")
    levels: int = Field(3, ge=1, le=6)
    window_hours: float = Field(48.0, gt=0, le=24 * 30)
    rule: Literal["fifo", "haircut"] = "fifo"
    as_of: dt.datetime | None = None
    save_case: str | None = Field(None, min_length=1, max_length=128)
    freeze: bool = Field(False, description="Add the freeze orders to the banks' freeze lists.")

    @field_validator("since", "until", "as_of")
    @classmethod
    def _utc(cls, v: dt.datetime | None) -> dt.datetime | None:
        return v.replace(tzinfo=dt.UTC) if v is not None and v.tzinfo is None else v


class FreezeOrder(BaseModel):
    account: str
    bank: str | None
    amount_fen: int
    n_victims: int
    hop: int
    expires_ts: dt.datetime
    entry_id: str | None = Field(description="Its freeze-list entry, once frozen.")
    delivery: str | None = Field(description="pending, delivered or failed, once frozen.")


# --- lists ---------------------------------------------------------------------------------------
class ListEntry(BaseModel):
    entry_id: str
    list_name: str
    partner: str
    entity_kind: str
    entity: str
    action: str | None
    reason: str | None
    evidence: str | None
    created_ts: dt.datetime | None
    expires_ts: dt.datetime | None
    ref: str | None
    delivery: str | None = Field(description="Delivery status of its notification.")


class ListEntryIn(Strict):
    list_name: Literal["freeze", "cancel", "block", "watch"]
    partner: str = Field(min_length=1, max_length=128, pattern=r"^\S+$")
    entity_kind: Literal["account", "phone", "bank_card", "domain", "url", "app", "device"]
    entity: str = Field(min_length=1, max_length=2048)
    action: str | None = Field(None, max_length=64)
    reason: str = Field(min_length=1, max_length=1000)
    evidence: str | None = Field(None, max_length=4000)
    expires_ts: dt.datetime | None = None
    ref: str | None = Field(None, max_length=128)


class ListEntriesIn(Strict):
    entries: list[ListEntryIn] = Field(min_length=1, max_length=10_000)


class ListAdded(BaseModel):
    added: int
    entry_ids: list[str]
    notifications_queued: int


# --- look-ups ------------------------------------------------------------------------------------
class Lookup(BaseModel):
    entity_kind: str
    value: str
    intel: IntelEntry | None
    counts: dict[str, int] = Field(description="event kind -> events that mention the value")
    events: dict[str, list[dict[str, Any]]] = Field(description="the latest `limit` per kind")
    alerts: list[Alert]
    list_entries: list[ListEntry]


# --- citizens ------------------------------------------------------------------------------------
class VerifyIn(Strict):
    id_number: str = Field(min_length=15, max_length=32)
    phone: str = Field(min_length=5, max_length=32, description="A phone registered to the ID.")


class VerifyOut(BaseModel):
    challenge_id: str
    sent_to: str = Field(description="The phone, masked.")
    expires_ts: dt.datetime
    detail: str


class ConfirmIn(Strict):
    challenge_id: str = Field(min_length=1, max_length=64)
    code: str = Field(pattern=r"^[0-9]{6}$")


class Session(BaseModel):
    token: str = Field(description="Send as `Authorization: Bearer <token>` to /v1/citizen/me.")
    expires_ts: dt.datetime
    id_number: str = Field(description="The ID, masked.")


class HighRiskNotice(BaseModel):
    list_name: Literal["cancel", "freeze", "watch"]
    action: str = Field(description="What the operator or bank will do with the card.")
    reason: str


class Holding(BaseModel):
    item_id: str = Field(description="Give this to flag it as not yours.")
    kind: Literal["phone_card", "bank_card", "platform_account"]
    number: str = Field(description="Masked.")
    issuer: str | None = Field(description="Operator, bank or platform.")
    bank: str | None = None
    card_kind: str | None = Field(None, description="debit / credit (BIN), prepaid, ...")
    status: Literal["open", "closed"]
    opened_ts: dt.datetime | None
    closed_ts: dt.datetime | None = None
    flagged: bool = Field(description="You flagged it as not yours.")
    high_risk: HighRiskNotice | None = Field(
        None, description="The card is on a high-risk card (断卡) list: what will be done and why."
    )


class Holdings(BaseModel):
    id_number: str = Field(description="Masked.")
    phone_cards: list[Holding]
    bank_cards: list[Holding]
    platform_accounts: list[Holding]


class FlagIn(Strict):
    item_id: str = Field(min_length=1, max_length=64)
    note: str | None = Field(None, max_length=1000)


class FlagOut(BaseModel):
    entry_id: str
    partner: str
    list_name: str
    added: bool = Field(description="False when it was flagged before.")


# --- linkage -------------------------------------------------------------------------------------
class Notification(BaseModel):
    notification_id: str
    partner: str
    topic: str
    payload: dict[str, Any]
    created_ts: dt.datetime
    status: Literal["pending", "delivered", "failed"]
    attempts: int
    next_attempt_ts: dt.datetime | None
    last_attempt_ts: dt.datetime | None
    delivered_ts: dt.datetime | None
    channel: str | None
    last_error: str | None


class DeliveryPass(BaseModel):
    delivered: int
    retry: int
    failed: int
    pull: int = Field(description="Due for partners without a webhook or drop folder.")


class Partner(BaseModel):
    partner: str
    webhook_url: str | None
    file_dir: str | None
    signed: bool


# --- audit ---------------------------------------------------------------------------------------
class AuditEntry(BaseModel):
    n: int
    ts: dt.datetime
    actor: str
    role: str
    action: str
    target: str
    reason: str
    detail: dict[str, Any]
    prev_hash: str
    hash: str


class AuditCheck(BaseModel):
    intact: bool
    entries: int


class EngineRun(BaseModel):
    batches: int
    events: int
    signals: int
    alerts_touched: int
    watermark: int
    seconds: float
    waiting: bool = False  # stopped for a keyed stream partition that is behind (its workers)


def kind_info(name: str) -> KindInfo:
    k = kind(name)
    return KindInfo(
        name=k.name,
        doc=k.doc,
        partner=k.partner,
        fields=list(k.field_names),
        required=[f.name for f in k.fields if f.required],
    )
