"""Stop it at the counter: a synchronous hold / warn-payer / allow decision for one transfer.

Fraud caught: the victim's payment itself (seed 003: banks refused 130 million suspicious
transactions in a year). A bank or payment app asks before it executes a transfer; the answer
comes from the live state fanzha already holds, loaded once by `TransferDecider.load(store)`:
- the payee is a suspected mule account (mule_account) or on a freeze list;
- to a new payee only (a payee paid before is stopped only by a mule suspicion): the payer is
  at risk now (victim_risk's score: a warning tier and fraud type), or was just
  exposed (called or texted by a listed number, sent to or visiting a listed site, a fraud or
  screen-sharing app on the phone);
- a first transfer to a new payee with an amount unusual for this payer (over `unusual_ratio`
  times the payer's largest earlier transfer, and at least `unusual_min_fen`);
- an elderly payer (from the ID number) raises a warning to a hold.
Every fact carries the event time it became true, so the same decider replays a city "as of
just before each transfer" (`decide` only uses facts older than the request; `observe` adds the
transfer to the payer's history afterwards). Decisions are recorded with their reasons in the
audit log (`record`), and the bank's final action comes back through `record_outcome`.
Cannot see: facts newer than the load (call `load` again, or `add_*` as the engine finds them);
payees at banks that do not report; a payer whose phone fanzha cannot link to the account.

HTTP: POST /v1/decide/transfer takes `TransferRequest` as JSON and answers `TransferDecision`.
"""

from __future__ import annotations

import bisect
import datetime as dt
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

import polars as pl

from fanzha.errors import FanzhaError
from fanzha.hashing import sha256_32_one
from fanzha.store import Store

HOLD, WARN, ALLOW = "hold", "warn_payer", "allow"
OUTCOMES = ("executed", "cancelled_by_payer", "held", "rejected", "reported")
MS = 1000


@dataclass(frozen=True)
class TransferRequest:
    """One transfer a bank is about to execute. `ts`: UTC; amounts in fen."""

    payer_account: str
    payee_account: str
    amount_fen: int
    ts: dt.datetime
    payer_phone: str | None = None
    payer_id_number: str | None = None
    transfer_id: str | None = None
    payee_type: str | None = None  # person, merchant, aggregator, exchange (as transfer events)

    @classmethod
    def parse(cls, raw: dict[str, Any]) -> TransferRequest:
        """A request from JSON-like input, or a FanzhaError saying what is wrong with it."""
        if not isinstance(raw, dict):
            raise FanzhaError("decide: a request is an object")
        unknown = set(raw) - {f for f in cls.__dataclass_fields__}
        if unknown:
            raise FanzhaError(f"decide: unknown field(s): {', '.join(sorted(unknown))}")
        for f in ("payer_account", "payee_account", "amount_fen", "ts"):
            if raw.get(f) in (None, ""):
                raise FanzhaError(f"decide: '{f}' is required")
        for f in ("payer_account", "payee_account", "payer_phone", "payer_id_number",
                  "transfer_id", "payee_type"):
            v = raw.get(f)
            if v is not None and (not isinstance(v, str) or len(v) > 64):
                raise FanzhaError(f"decide: '{f}' must be a string of at most 64 characters")
        amount = raw["amount_fen"]
        if isinstance(amount, bool) or not isinstance(amount, int) or not 0 < amount <= 10**13:
            raise FanzhaError("decide: 'amount_fen' must be a positive integer of fen")
        ts = raw["ts"]
        if isinstance(ts, str):
            try:
                ts = dt.datetime.fromisoformat(ts.replace("Z", "+00:00"))
            except ValueError:
                raise FanzhaError(f"decide: 'ts' is not an ISO 8601 time: {ts[:40]!r}") from None
        if not isinstance(ts, dt.datetime) or ts.tzinfo is None:
            raise FanzhaError("decide: 'ts' must be a time with a UTC offset")
        if raw["payer_account"] == raw["payee_account"]:
            raise FanzhaError("decide: payer and payee are the same account")
        return cls(**{**raw, "ts": ts.astimezone(dt.UTC)})


@dataclass(frozen=True)
class TransferDecision:
    decision: str  # hold | warn_payer | allow
    reasons: tuple[str, ...]
    decision_id: str
    score: float

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "reasons": list(self.reasons)}


@dataclass(frozen=True)
class DeciderSettings:
    risk_window_hours: int = 168  # a warning stays open this long
    exposure_window_hours: int = 72
    hold_risk: float = 0.8  # victim_risk score: the policy's high tier
    warn_risk: float = 0.5  # the medium tier
    mule_min_score: float = 0.5
    unusual_ratio: float = 3.0
    unusual_min_fen: int = 200_000  # 2,000 yuan
    elderly_age: int = 60


@dataclass
class _Facts:
    """Per key: times (ms, sorted) and what became true then."""

    ts: list[int] = field(default_factory=list)
    what: list[tuple] = field(default_factory=list)

    def add(self, t: int, what: tuple) -> None:
        i = bisect.bisect_right(self.ts, t)
        self.ts.insert(i, t)
        self.what.insert(i, what)

    def between(self, lo: int, hi: int) -> list[tuple]:
        return self.what[bisect.bisect_left(self.ts, lo) : bisect.bisect_left(self.ts, hi)]


class TransferDecider:
    """Answers `decide(request)` from state loaded once; see the module docstring."""

    def __init__(self, settings: DeciderSettings | None = None):
        self.settings = settings or DeciderSettings()
        self.mules: dict[str, _Facts] = {}  # account -> (score, why)
        self.risk: dict[str, _Facts] = {}  # phone -> (score, fraud_type, evidence)
        self.exposed: dict[str, _Facts] = {}  # phone -> (via_kind, via)
        self.phone_of: dict[str, str] = {}  # account -> phone
        self.id_of: dict[str, str] = {}  # account -> holder's ID number
        self.payees: dict[str, set[str]] = {}  # payer account -> payees paid before
        self.largest: dict[str, int] = {}  # payer account -> largest earlier transfer

    # --- loading -----------------------------------------------------------------------------
    @classmethod
    def load(cls, store: Store, settings: DeciderSettings | None = None, *,
             history: bool = True) -> TransferDecider:
        """The live state from the store; `history=False` leaves payee histories empty (a
        replay then builds them with `observe`)."""
        d = cls(settings)
        sig = pl.from_arrow(store.signals())
        if sig.height:
            d.add_signals(sig)
        lists = pl.from_arrow(store.list_entries())
        if lists.height:
            frozen = lists.filter(
                (pl.col.list_name == "freeze") & pl.col.entity_kind.is_in(["account", "bank_card"])
            )
            for acct, ts in frozen.select("entity", "created_ts").iter_rows():
                d._fact(d.mules, acct, _ms(ts), (1.0, "on the freeze list"))
        top = store.max_seq()
        cards = pl.from_arrow(store.read_events("card", 0, top))
        if cards.height:
            d.add_cards(cards)
        if history:
            d.observe_all(pl.from_arrow(store.read_events("transfer", 0, top)))
        return d

    @staticmethod
    def _fact(facts: dict[str, _Facts], key: str, t: int, what: tuple) -> None:
        facts.setdefault(key, _Facts()).add(t, what)

    def add_signals(self, sig: pl.DataFrame) -> None:
        """Mule suspicions, victim risk and exposures from the engine's signals."""
        s = self.settings
        sig = sig.with_columns(
            role=pl.col.details.str.json_path_match("$.role"),
            via=pl.col.details.str.json_path_match("$.via"),
            via_kind=pl.col.details.str.json_path_match("$.via_kind"),
            t=pl.col.ts.dt.epoch("ms"),
        )
        mules = sig.filter(
            (pl.col.detector == "mule_account") & (pl.col.score >= s.mule_min_score)
        )
        for acct, t, score in mules.select("entity", "t", "score").iter_rows():
            self._fact(self.mules, acct, t, (score, f"suspected mule account ({score:.2f})"))
        risk = sig.filter((pl.col.detector == "victim_risk") & (pl.col.entity_kind == "phone"))
        for phone, t, score, ft in risk.select("entity", "t", "score", "fraud_type").iter_rows():
            self._fact(self.risk, phone, t, (score, ft))
        exp = sig.filter((pl.col.role == "exposed") & (pl.col.entity_kind == "phone"))
        for phone, t, kind, via in exp.select("entity", "t", "via_kind", "via").iter_rows():
            self._fact(self.exposed, phone, t, (kind, via))

    def add_cards(self, cards: pl.DataFrame) -> None:
        """account -> holder's phone through the card registry (bank card -> ID -> SIM card)."""
        opened = cards.filter(pl.col.action.fill_null("open") == "open")
        bank = opened.filter(pl.col.card_type == "bank").select("card_number", "id_number")
        sims = (
            opened.filter(pl.col.card_type == "sim")
            .sort("ts")
            .unique("id_number", keep="first")
            .select("id_number", phone="card_number")
        )
        for acct, idn, phone in bank.join(sims, on="id_number", how="left").iter_rows():
            self.id_of[acct] = idn
            if phone:
                self.phone_of.setdefault(acct, phone)

    def observe_all(self, transfers: pl.DataFrame) -> None:
        for payer, payee, amount, phone in transfers.sort("seq").select(
            "payer_account", "payee_account", "amount_fen", "payer_phone"
        ).iter_rows():
            self._observe(payer, payee, amount, phone)

    def observe(self, req: TransferRequest) -> None:
        """The transfer went through: it joins the payer's history."""
        self._observe(req.payer_account, req.payee_account, req.amount_fen, req.payer_phone)

    def _observe(self, payer: str, payee: str, amount: int, phone: str | None) -> None:
        self.payees.setdefault(payer, set()).add(payee)
        if amount > self.largest.get(payer, 0):
            self.largest[payer] = amount
        if phone:
            self.phone_of.setdefault(payer, phone)

    # --- deciding ----------------------------------------------------------------------------
    def decide(self, req: TransferRequest) -> TransferDecision:
        s = self.settings
        t = int(req.ts.timestamp() * MS)
        phone = req.payer_phone or self.phone_of.get(req.payer_account)
        mule = self.mules.get(req.payee_account)
        risk = self.risk.get(phone) if phone else None
        exposed = self.exposed.get(phone) if phone else None
        known_payer = req.payer_account in self.payees
        if mule is None and risk is None and exposed is None and not known_payer:
            return self._decision(req, ALLOW, ("no risk known for payer or payee",), 0.0)
        reasons: list[str] = []
        hold = warn = False
        score = 0.0
        if mule is not None:
            seen = mule.between(0, t)
            if seen:
                best = max(seen)
                reasons.append(f"payee {req.payee_account}: {best[1]}")
                score = max(score, best[0])
                hold = True
        new_payee = req.payee_account not in self.payees.get(req.payer_account, ())
        if not new_payee:  # a payee paid before: only a mule suspicion stops it
            return self._decision(
                req, HOLD if hold else ALLOW, tuple(reasons) or ("a payee paid before",), score
            )
        # a warned payer still buys groceries: a hold is for money sent to a person
        to_person = req.payee_type in (None, "person")
        if risk is not None:
            now = risk.between(t - s.risk_window_hours * 3600 * MS, t)
            if now:
                top = max(now, key=lambda x: x[0])
                tier = "high" if top[0] >= s.hold_risk else "medium" if top[0] >= s.warn_risk \
                    else "low"
                ft = f" ({top[1]})" if top[1] else ""
                reasons.append(f"payer is in an open {tier} warning{ft}, risk {top[0]:.2f}")
                score = max(score, top[0])
                hold |= tier == "high" and to_person
                warn |= tier != "low"
        if exposed is not None:
            recent = exposed.between(t - s.exposure_window_hours * 3600 * MS, t)
            if recent:
                kinds = sorted({k for k, _ in recent if k})
                vias = sorted({v for _, v in recent if v})[:3]
                app = "app" in kinds
                reasons.append(
                    "payer was just " + ("reached by a fraud or screen-sharing app " if app
                                          else "contacted by a listed number or site ")
                    + ", ".join(vias)
                )
                warn = True
                score = max(score, 0.6)
        largest = self.largest.get(req.payer_account, 0)
        unusual = (  # against the payer's own history: without one, nothing is unusual
            known_payer
            and req.amount_fen >= s.unusual_min_fen
            and req.amount_fen > s.unusual_ratio * largest
        )
        if unusual:
            reasons.append(
                f"first transfer to this payee, {req.amount_fen / 100:,.2f} yuan against at most "
                f"{largest / 100:,.2f} before"
            )
            hold |= warn and to_person
            warn = True
            score = max(score, 0.5)
        age = _age(req.payer_id_number or self.id_of.get(req.payer_account), req.ts)
        if age is not None and age >= s.elderly_age and warn and not hold and to_person:
            reasons.append(f"payer aged {age}")
            hold = True
        decision = HOLD if hold else WARN if warn else ALLOW
        return self._decision(req, decision, tuple(reasons) or ("no risk found",), score)

    @staticmethod
    def _decision(req: TransferRequest, decision: str, reasons: tuple[str, ...],
                  score: float) -> TransferDecision:
        key = req.transfer_id or f"{req.payer_account}>{req.payee_account}@{req.ts.isoformat()}"
        return TransferDecision(decision, reasons, "d-" + sha256_32_one(key)[:20], score)

    # --- recording ---------------------------------------------------------------------------
    @staticmethod
    def record(store: Store, req: TransferRequest, d: TransferDecision,
               actor: str = "decide") -> None:
        """The decision and its reasons, in the audit log (hash-chained)."""
        store.append_audit(
            actor, "bank", "decide_transfer", d.decision_id, d.decision,
            {**d.as_dict(), "request": {**asdict(req), "ts": req.ts.isoformat()}},
        )

    @staticmethod
    def record_outcome(store: Store, decision_id: str, outcome: str, actor: str = "bank",
                       note: str = "") -> None:
        """The bank's final action for a decision (executed, cancelled_by_payer, held, ...)."""
        if outcome not in OUTCOMES:
            raise FanzhaError(f"decide: outcome must be one of {', '.join(OUTCOMES)}")
        if not any(
            r["action"] == "decide_transfer" and r["target"] == decision_id
            for r in store.audit_log().to_pylist()
        ):
            raise FanzhaError(f"decide: no recorded decision {decision_id}")
        store.append_audit(actor, "bank", "transfer_outcome", decision_id, outcome,
                           {"outcome": outcome, "note": note})


def _ms(ts: Any) -> int:
    return int(ts.timestamp() * MS) if ts is not None else 0


def _age(id_number: str | None, at: dt.datetime) -> int | None:
    if not id_number or len(id_number) != 18 or not id_number[6:14].isdigit():
        return None
    try:
        born = dt.date(int(id_number[6:10]), int(id_number[10:12]), int(id_number[12:14]))
    except ValueError:
        return None
    d = at.date()
    return d.year - born.year - ((d.month, d.day) < (born.month, born.day))


def replay(store: Store, settings: DeciderSettings | None = None,
           transfers: Iterable[dict] | None = None) -> dict[str, str]:
    """Every transfer in the log decided as of just before it (facts older than it, the payer's
    earlier transfers that were not held): transfer_id -> decision. What the scorecard's `decide`
    section reads."""
    d = TransferDecider.load(store, settings, history=False)
    rows = (
        transfers
        if transfers is not None
        else pl.from_arrow(store.read_events("transfer", 0, store.max_seq()))
        .sort("seq")
        .select("payer_account", "payee_account", "amount_fen", "ts", "payer_phone",
                "payer_id_number", "transfer_id", "payee_type")
        .iter_rows(named=True)
    )
    return replay_rows(d, rows)


def replay_rows(d: TransferDecider, rows: Iterable[dict]) -> dict[str, str]:
    """Decide each transfer in turn; what went through joins the payer's history."""
    out: dict[str, str] = {}
    for r in rows:
        req = TransferRequest(**r)
        decision = d.decide(req).decision
        if r["transfer_id"] is not None:
            out[r["transfer_id"]] = decision
        if decision != HOLD:  # a held transfer did not go through: its payee stays new
            d.observe(req)
    return out
