"""Visits to fraud sites and links to them in SMS: listed URLs/domains and look-alikes.

Fraud caught: the customer-service refund scam sends the victim to a "claim" page; police and loan
scams to a "security check" or "fast loan" site; SMS carry the link (report 004: Shao clicked the
link and lost thousands; report 003: the centres "研判锁定涉诈网站"). Looks at:
- visit events (the operator's DNS/DPI or a security app) and links in SMS text;
- report events about URLs and domains, folded by `fanzha.intel` into the host's status (a
  confirmed or suspected URL lists its host, unless the host is a brand's own: a fraud page on a
  platform is the platform's to take down); cleared hosts stop alerting;
- look-alikes of the banks', platforms', couriers' and government's domains in
  `fraud_url.yaml`: punycode and homoglyphs (Unicode TR39 confusables: "ісbc.com" with a
  Cyrillic і), typos (Damerau-Levenshtein distance 1, or 2 for long names: "taobaao.com"), brand
  names combined with other words ("taobao-refund.top", "tb-lipei.top"), and, weaker, lure words
  on cheap TLDs ("xx-tuikuan.cc"). A brand's own domains and everything under *.gov.cn are never
  look-alikes.
Emits: role "exposed" on the person (via the host); role "suspect" on a look-alike host the first
time it is seen, and on the number that sent a listed or look-alike link by SMS. When a URL or
domain becomes listed it looks back over the visits of `lookback_days` before.
Cannot see: HTTPS paths without the operator's DPI (only the host), links inside chat apps, QR
codes, or look-alikes of brands not in the list.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import resources
from typing import Any, ClassVar

import polars as pl
import pyarrow as pa
import yaml
from confusable_homoglyphs.utils import load as _load_confusables
from publicsuffixlist import PublicSuffixList
from rapidfuzz import process
from rapidfuzz.distance import DamerauLevenshtein

from fanzha.engine.protocol import Batch, Lookup, State, empty_signals, history_key, signals_from
from fanzha.ids import IdError
from fanzha.ingest.validate import host_of
from fanzha.intel import (
    FACT_SCHEMA,
    LISTING_SCHEMA,
    IntelSettings,
    facts_from_reports,
    looked_back,
    status_at,
    update,
)

_DATA = yaml.safe_load(
    resources.files("fanzha.detectors").joinpath("fraud_url.yaml").read_text("utf-8")
)
_PSL = PublicSuffixList()  # the Public Suffix List snapshot shipped in the wheel (offline)


def _skeleton_map() -> dict[str, str]:
    """Non-ASCII characters that look like an ASCII letter or digit (TR39 confusables)."""
    out: dict[str, str] = {}
    for k, hs in _load_confusables("confusables.json").items():
        for h in hs:
            c = h["c"].strip("\u200e")
            if len(k) == 1 and not k.isascii() and len(c) == 1 and c.isascii() and c.isalnum():
                out.setdefault(k, c.lower())
            elif len(k) == 1 and k.isascii() and k.isalnum() and len(c) == 1 and not c.isascii():
                out.setdefault(c, k.lower())
    return out


_SKELETON = _skeleton_map()
_ASCII_CONFUSABLE = str.maketrans({"0": "o", "1": "l", "|": "l"})

VISIT_SCHEMA = {
    "seq": pl.Int64,
    "ts": pl.Datetime("ms", "UTC"),
    "event_id": pl.String,
    "person": pl.String,
    "sender": pl.String,
    "host": pl.String,
    "url": pl.String,
    "channel": pl.String,
}
FLAGGED_SCHEMA = pa.schema([pa.field("entity_kind", pa.string()), pa.field("entity", pa.string())])
# a link in SMS text: scheme or www., then a host of letters (Latin, Greek, Cyrillic: homoglyph
# attacks), digits, dots and hyphens; CJK text right after a link is not part of it
_LINK = r"(?i)(?:https?://|www\.)([0-9a-z\u00c0-\u024f\u0370-\u03ff\u0400-\u04ff.\-]+)[^\s，。！]*"


@dataclass(frozen=True)
class FraudUrlSettings:
    score_listed_visit: float = 0.85  # visited a listed site (scaled by a suspicion's confidence)
    score_listed_sms: float = 0.6  # received a link to a listed site
    sms_factor: float = 0.7  # a look-alike link received, against a look-alike site visited
    score_homoglyph: float = 0.9
    score_typo: float = 0.8
    score_combo: float = 0.6  # a brand's name with other words
    score_combo_lure: float = 0.75  # ... and a lure word or a cheap TLD
    score_lure: float = 0.5  # a lure word on a cheap TLD, no brand
    suspect_min: float = 0.5  # look-alike score from which the host is signalled as suspect
    sender_suspect_min: float = 0.7  # an SMS link this bad makes its sender a suspect
    lookback_days: float = 7.0
    brands: tuple[Any, ...] = tuple(_DATA["brands"])
    official_suffixes: tuple[str, ...] = tuple(_DATA["official_suffixes"])
    lure_words: tuple[str, ...] = tuple(_DATA["lure_words"])
    risky_tlds: tuple[str, ...] = tuple(_DATA["risky_tlds"])
    intel: IntelSettings = field(default_factory=IntelSettings)


@dataclass(frozen=True)
class FraudUrl:
    """Signals for the people who visit, or are sent links to, fraud sites; and the sites."""

    settings: FraudUrlSettings = field(default_factory=FraudUrlSettings)
    name: ClassVar[str] = "fraud_url"
    kinds: ClassVar[tuple[str, ...]] = ("visit", "sms", "report")

    def initial_state(self) -> State:
        return {
            "facts": FACT_SCHEMA.empty_table(),
            "listings": LISTING_SCHEMA.empty_table(),
            "flagged": FLAGGED_SCHEMA.empty_table(),
        }

    @property
    def _window(self) -> dt.timedelta:
        return dt.timedelta(days=self.settings.lookback_days)

    def _listings(
        self, state: State, batch: Batch
    ) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
        """(this batch's facts, all facts, listings) about hosts, with this batch's reports."""
        reports = facts_from_reports(batch.get("report"), ("url", "domain"))
        new = _host_facts(reports, self._official)
        facts, listings = update(state["facts"], state["listings"], new, self.settings.intel)
        return new, facts, listings

    def lookups(self, batch: Batch, state: State) -> list[Lookup]:
        rep = batch.get("report")
        if rep is None or rep.num_rows == 0:
            return []
        new, _, listings = self._listings(state, batch)
        trig = listings.filter(
            pl.col.seq.is_in(new["seq"].implode())
            & pl.col.status.is_in(["suspected", "confirmed"])
        )
        if trig.height == 0:
            return []
        hosts = tuple(sorted(set(trig["value"].to_list())))
        return [Lookup("visit", ("domain",), hosts, trig["ts"].min() - self._window)]

    def step(self, batch: Batch, state: State) -> tuple[pa.Table, State]:
        s = self.settings
        if not any(_rows(batch.get(k)) for k in ("visit", "sms", "report")):
            return empty_signals(), state
        new, facts, listings = self._listings(state, batch)
        contacts = pl.concat([_visits(batch.get("visit")), _links(batch.get("sms"))])
        back = self._looked_back(batch, listings, new["seq"])
        if contacts.height == 0 and back.height == 0:
            return empty_signals(), self._state(state, new, facts, listings, None)
        looks = self.lookalikes(contacts["host"].unique().to_list())
        hits = status_at(contacts, listings, "host").join(looks, on="host", how="left")
        cleared = (pl.col.l_status == "cleared") & (pl.col.ts <= pl.col.l_expires)
        visit = pl.col.channel == "visit"
        listed_score = pl.when(pl.col.l_status == "confirmed").then(1.0).otherwise(
            pl.col.l_confidence
        ) * pl.when(visit).then(s.score_listed_visit).otherwise(s.score_listed_sms)
        la_score = pl.col.la_score * pl.when(visit).then(1.0).otherwise(s.sms_factor)
        hits = hits.with_columns(
            score=pl.when(pl.col.listed)
            .then(pl.max_horizontal(listed_score, la_score.fill_null(0.0)))
            .when(~cleared.fill_null(False) & (pl.col.la_score > 0))
            .then(la_score),
            status=pl.when(pl.col.listed).then(pl.col.l_status),
            fraud_type=pl.when(pl.col.listed).then(pl.col.l_fraud_type),
            by=pl.when(pl.col.listed).then(pl.col.l_source),
            found=pl.lit("contact"),
        ).filter(pl.col.score.is_not_null())
        exposed = pl.concat([hits, back], how="diagonal_relaxed")
        flagged = pl.from_arrow(state["flagged"])
        suspects = self._suspects(hits, flagged)
        out = [self._exposed(exposed), suspects]
        sigs = (
            pa.concat_tables([t for t in out if t.num_rows])
            if any(t.num_rows for t in out)
            else empty_signals()
        )
        return sigs, self._state(state, new, facts, listings, suspects)

    def _state(
        self,
        state: State,
        new: pl.DataFrame,
        facts: pl.DataFrame,
        listings: pl.DataFrame,
        suspects: pa.Table | None,
    ) -> State:
        new_flags = suspects is not None and suspects.num_rows > 0
        if new.height == 0 and not new_flags:
            return state
        out = dict(state)
        if new.height:
            out["facts"] = facts.to_arrow().cast(FACT_SCHEMA)
            out["listings"] = listings.to_arrow().cast(LISTING_SCHEMA)
        if new_flags:
            add = pl.from_arrow(suspects.select(["entity_kind", "entity"]))  # type: ignore[union-attr]
            out["flagged"] = (
                pl.concat([pl.from_arrow(state["flagged"]), add])
                .unique()
                .sort("entity_kind", "entity")
                .to_arrow()
                .cast(FLAGGED_SCHEMA)
            )
        return out

    def _looked_back(
        self, batch: Batch, listings: pl.DataFrame, new_seqs: pl.Series
    ) -> pl.DataFrame:
        """Visits logged before a host became listed in this batch, not signalled yet."""
        past = _visits(batch.get(history_key("visit")))
        if past.height == 0 or new_seqs.len() == 0:
            return pl.DataFrame()
        looks = self.lookalikes(past["host"].unique().to_list())
        # a look-alike visit was signalled when it happened
        past = past.join(looks, on="host", how="left").filter(pl.col.la_score.is_null())
        hits = looked_back(
            past.with_columns(_key=pl.col.event_id), listings, new_seqs, "host", self._window
        )
        if hits.height == 0:
            return pl.DataFrame()
        return hits.select(
            *[c for c in VISIT_SCHEMA if c not in ("seq", "ts")],
            seq=pl.col.t_seq,
            ts=pl.max_horizontal("ts", "t_ts"),
            contact_ts=pl.col.ts,
            score=pl.when(pl.col.t_status == "confirmed").then(1.0).otherwise(pl.col.t_confidence)
            * self.settings.score_listed_visit,
            status=pl.col.t_status,
            fraud_type=pl.col.t_fraud_type,
            by=pl.col.t_source,
            found=pl.lit("look-back"),
        )

    def _exposed(self, hits: pl.DataFrame) -> pa.Table:
        if hits.height == 0:
            return empty_signals()
        if "contact_ts" not in hits.columns:
            hits = hits.with_columns(contact_ts=pl.col.ts)
        hits = hits.with_columns(contact_ts=pl.col.contact_ts.fill_null(pl.col.ts))
        for c in ("match", "brand", "reason"):
            if c not in hits.columns:
                hits = hits.with_columns(pl.lit(None, pl.String).alias(c))
        why = (
            pl.when(pl.col.status == "confirmed")
            .then(pl.lit("a fraud site confirmed by ") + pl.col.by.fill_null("?"))
            .when(pl.col.status == "suspected")
            .then(pl.lit("a site suspected on the word of ") + pl.col.by.fill_null("?"))
            .otherwise(pl.lit("a look-alike: ") + pl.col.reason.fill_null("?"))
        )
        df = hits.with_columns(
            entity_kind=pl.lit("phone"),
            entity=pl.col.person,
            score=pl.col.score.clip(0.0, 1.0),
            evidence=pl.col.person
            + pl.when(pl.col.channel == "visit")
            .then(pl.lit(" visited "))
            .otherwise(pl.lit(" received an SMS from ") + pl.col.sender + " with a link to ")
            + pl.col.host
            + ", "
            + why
            + pl.when(pl.col.found == "look-back")
            .then(pl.lit("; the visit came before the listing"))
            .otherwise(pl.lit("")),
            details=pl.struct(
                role=pl.lit("exposed"),
                via=pl.col.host,
                via_kind=pl.lit("domain"),
                channel=pl.col.channel,
                listing=pl.col.status,
                match=pl.col.match,
                brand=pl.col.brand,
                url=pl.col.url,
                sender=pl.col.sender,
                contact_ts_ms=pl.col.contact_ts.dt.epoch("ms"),
                found=pl.col.found,
            ).struct.json_encode(),
            event_ids=pl.concat_list(pl.col.event_id),
        )
        return signals_from(df, self.name, ["event_id", "channel", "host", "found", "status"])

    def _suspects(self, hits: pl.DataFrame, flagged: pl.DataFrame) -> pa.Table:
        """First sight of a look-alike host; first listed or look-alike link from a sender."""
        s = self.settings
        if hits.height == 0:
            return empty_signals()
        hosts = (
            hits.filter((pl.col.la_score >= s.suspect_min) & ~pl.col.listed)
            .sort("seq", "event_id")
            .unique("host", keep="first")
            .select(
                "seq",
                "ts",
                "event_id",
                "fraud_type",
                entity_kind=pl.lit("domain"),
                entity=pl.col.host,
                score=pl.col.la_score,
                evidence=pl.col.host + " looks like a fraud site: " + pl.col.reason,
                details=pl.struct(
                    role=pl.lit("suspect"),
                    match=pl.col.match,
                    brand=pl.col.brand,
                    first_seen_by=pl.col.person,
                ).struct.json_encode(),
            )
        )
        senders = (
            hits.filter(
                (pl.col.channel == "sms_link")
                & (pl.col.listed | (pl.col.la_score >= s.sender_suspect_min))
            )
            .sort("seq", "event_id")
            .unique("sender", keep="first")
            .select(
                "seq",
                "ts",
                "event_id",
                "fraud_type",
                entity_kind=pl.lit("phone"),
                entity=pl.col.sender,
                score=pl.when(pl.col.listed)
                .then(pl.col.score / s.score_listed_sms)
                .otherwise(pl.col.la_score)
                .clip(0.0, 0.95),
                evidence=pl.col.sender
                + " sent an SMS with a link to "
                + pl.col.host
                + ", "
                + pl.when(pl.col.listed)
                .then(pl.lit("a listed fraud site"))
                .otherwise(pl.lit("a look-alike: ") + pl.col.reason),
                details=pl.struct(
                    role=pl.lit("suspect"),
                    via=pl.col.host,
                    via_kind=pl.lit("domain"),
                    first_seen_by=pl.col.person,
                ).struct.json_encode(),
            )
        )
        new = pl.concat([hosts, senders], how="diagonal_relaxed").join(
            flagged, on=["entity_kind", "entity"], how="anti"
        )
        new = new.with_columns(event_ids=pl.concat_list(pl.col.event_id))
        return signals_from(new, self.name, ["entity_kind", "entity"])

    # --- look-alikes --------------------------------------------------------------------------

    def _official(self, host: str) -> bool:
        s = self.settings
        if any(host == x or host.endswith("." + x) for x in s.official_suffixes):
            return True
        return any(
            host == d or host.endswith("." + d) for b in s.brands for d in b.get("domains", ())
        )

    def lookalikes(self, hosts: list[str]) -> pl.DataFrame:
        """host -> (la_score, match, brand, reason) for the hosts that look like fraud sites."""
        schema = {
            "host": pl.String,
            "la_score": pl.Float64,
            "match": pl.String,
            "brand": pl.String,
            "reason": pl.String,
        }
        rows = [r for r in (self._judge(h) for h in hosts if h) if r is not None]
        return pl.DataFrame(rows, schema=schema, orient="row")

    def _judge(self, host: str) -> tuple[str, float, str, str, str] | None:
        s = self.settings
        if self._official(host):
            return None
        reg = _PSL.privatesuffix(host) or host
        suffix = _PSL.publicsuffix(host) or ""
        label = reg[: -len(suffix) - 1] if suffix and reg.endswith("." + suffix) else reg
        tld = host.rsplit(".", 1)[-1]
        shown = _unicode(label)
        skel = _skeleton(shown)
        # brand names and lure words may sit anywhere left of the public suffix
        # ("icbc.com.cn.verify-login.top"), look-alike spellings in the registrable label
        prefix = host[: -len(suffix) - 1] if suffix and host.endswith("." + suffix) else host
        whole = _skeleton(_unicode(prefix))
        parts = [p for p in whole.replace(".", "-").split("-") if p]
        lure = next((w for w in s.lure_words if w in whole), None)
        risky = tld in s.risky_tlds
        best: tuple[float, str, str, str] | None = None

        def better(score: float, match: str, brand: str, reason: str) -> None:
            nonlocal best
            if best is None or score > best[0]:
                best = (score, match, brand, reason)

        labels = _brand_labels(s.brands)
        names = list(labels)
        for name, d in zip(
            names, process.cdist([skel], names, scorer=DamerauLevenshtein.distance)[0], strict=True
        ):
            name, brand = labels[name]
            if d == 0 and skel != label:
                better(
                    s.score_homoglyph,
                    "homoglyph",
                    brand,
                    f"{_unicode(host)} is spelt with characters that look like {name}",
                )
            elif d == 0:
                better(
                    s.score_typo if risky else s.score_combo,
                    "other_suffix",
                    brand,
                    f"{host} is {name} under a suffix {brand} does not use",
                )
            elif len(name) >= 4 and d <= (2 if len(name) >= 8 else 1):
                better(s.score_typo, "typo", brand, f"{host} is one slip away from {name}")
        for b in s.brands:
            for tok in map(_skeleton, map(str, b.get("tokens", ()))):
                short = len(tok) <= 3
                if (short and tok in parts) or (not short and tok in whole and whole != tok):
                    extra = lure or (f".{tld}" if risky else None)
                    if extra:
                        better(
                            s.score_combo_lure,
                            "combo",
                            b["name"],
                            f"{host} puts {b['name']} ({tok}) together with {extra}",
                        )
                    else:
                        better(
                            s.score_combo,
                            "combo",
                            b["name"],
                            f"{host} borrows the name of {b['name']} ({tok})",
                        )
        if best is None and lure and risky:
            better(s.score_lure, "lure", "", f"{host} offers {lure} on a cheap .{tld} domain")
        if best is None:
            return None
        score, match, brand, reason = best
        return host, score, match, brand, reason


def _brand_labels(brands: tuple[Any, ...]) -> dict[str, tuple[str, str]]:
    """Skeletons of the brands' registrable labels -> (label, brand name): taobao, icbc, ..."""
    out: dict[str, tuple[str, str]] = {}
    for b in brands:
        for d in b.get("domains", ()):
            suffix = _PSL.publicsuffix(d) or ""
            label = d[: -len(suffix) - 1] if suffix and d.endswith("." + suffix) else d
            if len(label) >= 3:
                out.setdefault(_skeleton(label), (label, b["name"]))
    return out


def _unicode(label: str) -> str:
    try:
        return ".".join(
            p.encode("ascii").decode("idna") if p.startswith("xn--") else p
            for p in label.split(".")
        )
    except UnicodeError:
        return label


def _skeleton(text: str) -> str:
    t = unicodedata.normalize("NFKC", text.lower())
    t = "".join(_SKELETON.get(c, c) for c in t)
    t = "".join(c for c in unicodedata.normalize("NFKD", t) if not unicodedata.combining(c))
    return t.translate(_ASCII_CONFUSABLE)


def _rows(t: pa.Table | None) -> int:
    return 0 if t is None else t.num_rows


def _host_or_none(v: str) -> str | None:
    try:
        return host_of(v)
    except IdError:
        return None


def _host_facts(facts: pl.DataFrame, official: Callable[[str], bool]) -> pl.DataFrame:
    """URL and domain facts as facts about hosts (a URL on a brand's own host lists nothing)."""
    if facts.height == 0:
        return facts.with_columns(kind=pl.lit("host"))
    hosts = {v: _host_or_none(v) for v in facts["value"].unique().to_list()}
    keep = {v: h for v, h in hosts.items() if h is not None and not official(h)}
    return facts.filter(pl.col.value.is_in(list(keep))).with_columns(
        kind=pl.lit("host"), value=pl.col.value.replace_strict(keep, return_dtype=pl.String)
    )


def _visits(t: pa.Table | None) -> pl.DataFrame:
    if t is None or t.num_rows == 0:
        return pl.DataFrame(schema=VISIT_SCHEMA)
    return (
        pl.from_arrow(t)
        .select(
            "seq",
            "ts",
            "event_id",
            person=pl.col.phone,
            sender=pl.lit(None, pl.String),
            host=pl.col.domain,
            url=pl.col.url,
            channel=pl.lit("visit"),
        )
        .cast(VISIT_SCHEMA)
    )  # type: ignore[arg-type]


def _links(t: pa.Table | None) -> pl.DataFrame:
    """Links in SMS text: (receiver, sender, host) per link."""
    if t is None or t.num_rows == 0:
        return pl.DataFrame(schema=VISIT_SCHEMA)
    df = pl.from_arrow(t).filter(pl.col.text.str.contains(r"(?i)https?://|www\."))
    if df.height == 0:
        return pl.DataFrame(schema=VISIT_SCHEMA)
    df = (
        df.select(
            "seq",
            "ts",
            "event_id",
            person=pl.col.receiver,
            sender=pl.col.sender,
            url=pl.col.text.str.extract_all(_LINK),
        )
        .explode("url")
        .filter(pl.col.url.is_not_null())
    )
    raw = df["url"].str.extract(_LINK, 1)
    uniq = {h: _host_or_none(h) for h in raw.unique().drop_nulls().to_list()}
    df = df.with_columns(
        host=raw.replace_strict(uniq, default=None, return_dtype=pl.String),
        channel=pl.lit("sms_link"),
    ).filter(pl.col.host.is_not_null())
    return (
        df.unique(["event_id", "host"], keep="first")
        .select(list(VISIT_SCHEMA))
        .cast(
            VISIT_SCHEMA  # type: ignore[arg-type]
        )
    )
