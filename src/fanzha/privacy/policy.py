"""Masking policies: which operator each type of value gets, and which column holds which type.

A policy is YAML (built-ins `waybill`, `display`, `export`, `redact` live beside this file):

    name: my-export
    extends: export              # optional: start from a built-in (or another file)
    types:                       # type -> operator; `default` for every other type
      mobile: {op: fake, same_region: true}
      resident_id: {op: encrypt, algo: sm4-gcm}
    text_types: {default: {op: redact}}   # optional: operators for findings inside free text
    columns:                     # column -> type (or keep / drop / text), or {type:, op: ...}
      收货电话: phone
      备注: text
    aliases: {phone: [tel2]}     # more names per type, matched case-insensitively
    other_columns: scan          # columns of no known type: scan (as free text) | keep | drop
    text_ner: auto               # names/addresses in free text: auto | lac | rules | off

Operators: mask (profile display|waybill), redact, pseudonym (algo hmac-sha256|hmac-sm3,
length), fake (same_region, same_birth_year), encrypt (algo sm4-gcm|aes-gcm), keep, drop.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from fanzha.errors import FanzhaError
from fanzha.privacy import keyed, masks
from fanzha.privacy.findings import TYPES

BUILT_IN = ("waybill", "display", "export", "redact")
OPERATORS = ("mask", "redact", "pseudonym", "fake", "encrypt", "keep", "drop")
COLUMN_KINDS = (*TYPES, "phone", "text", "keep", "drop")
KEYED = ("pseudonym", "fake", "encrypt")

Operator = Callable[[str, str], str | None]  # (type, value) -> replacement


class PolicyError(FanzhaError):
    """A policy that cannot be used, with the field that is wrong."""


@dataclass(frozen=True)
class OpSpec:
    op: str
    options: dict[str, Any] = field(default_factory=dict)

    @property
    def keyed(self) -> bool:
        return self.op in KEYED


@dataclass(frozen=True)
class Column:
    kind: str  # a type, or text / keep / drop
    op: OpSpec | None = None  # overrides the policy's operator for this column


@dataclass(frozen=True)
class Policy:
    name: str
    description: str
    types: dict[str, OpSpec]
    text_types: dict[str, OpSpec]
    columns: dict[str, Column]
    aliases: dict[str, str]  # lower-cased column name -> kind
    other_columns: str
    text_ner: str

    def specs(self) -> list[OpSpec]:
        """Every operator the policy may apply."""
        specs = [*self.types.values(), *self.text_types.values()]
        return specs + [c.op for c in self.columns.values() if c.op is not None]

    @property
    def needs_key(self) -> bool:
        return any(s.keyed for s in self.specs())

    def spec_for(self, type_: str, in_text: bool = False) -> OpSpec:
        table = self.text_types if (in_text and self.text_types) else self.types
        spec = table.get(type_) or (table.get("mobile") if type_ == "phone" else None)
        return spec or table.get("default") or OpSpec("mask", {"profile": "display"})

    def column_kind(self, column: str) -> Column:
        if column in self.columns:
            return self.columns[column]
        kind = self.aliases.get(column.strip().lower())
        if kind is not None:
            return Column(kind)
        return Column({"scan": "text", "keep": "keep", "drop": "drop"}[self.other_columns])


def _spec(raw: Any, where: str) -> OpSpec:
    if isinstance(raw, str):
        raw = {"op": raw}
    if not isinstance(raw, dict) or "op" not in raw:
        raise PolicyError(f"{where}: expected {{op: ...}}, got {raw!r}")
    op = raw["op"]
    if op not in OPERATORS:
        raise PolicyError(f"{where}: unknown operator {op!r}; known: {', '.join(OPERATORS)}")
    opts = {k: v for k, v in raw.items() if k != "op"}
    allowed = {
        "mask": {"profile"},
        "pseudonym": {"algo", "length"},
        "fake": {"same_region", "same_birth_year"},
        "encrypt": {"algo"},
    }.get(op, set())
    extra = set(opts) - allowed
    if extra:
        raise PolicyError(f"{where}: operator {op} takes no option(s) {', '.join(sorted(extra))}")
    if op == "mask" and opts.get("profile", "display") not in masks.PROFILES:
        raise PolicyError(f"{where}: profile must be one of {', '.join(masks.PROFILES)}")
    if op == "pseudonym" and opts.get("algo", "hmac-sha256") not in keyed.HASHES:
        raise PolicyError(f"{where}: algo must be one of {', '.join(keyed.HASHES)}")
    if op == "encrypt" and opts.get("algo", "sm4-gcm") not in keyed.CIPHERS:
        raise PolicyError(f"{where}: algo must be one of {', '.join(keyed.CIPHERS)}")
    return OpSpec(op, opts)


def _type_table(raw: Any, where: str) -> dict[str, OpSpec]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise PolicyError(f"{where}: expected a mapping of type -> operator")
    out = {}
    for t, spec in raw.items():
        if t != "default" and t not in COLUMN_KINDS:
            raise PolicyError(f"{where}: unknown type {t!r}; known: {', '.join(TYPES)}")
        out[str(t)] = _spec(spec, f"{where}.{t}")
    return out


def _raw(source: str) -> tuple[dict[str, Any], str]:
    if source in BUILT_IN:
        text = (
            resources.files("fanzha.privacy").joinpath(f"policies/{source}.yaml").read_text("utf-8")
        )
        where = f"built-in policy {source}"
    else:
        p = Path(source)
        if not p.is_file():
            raise PolicyError(
                f"policy {source!r} is neither a built-in ({', '.join(BUILT_IN)}) nor a file"
            )
        text, where = p.read_text("utf-8"), str(p)
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as e:
        raise PolicyError(f"{where}: not valid YAML ({str(e).splitlines()[0]})") from None
    if not isinstance(raw, dict):
        raise PolicyError(f"{where}: a policy is a YAML mapping")
    return raw, where


def load_policy(source: str) -> Policy:
    """A built-in policy by name, or a YAML file (read again each time: it may have changed)."""
    return _built_in(source) if source in BUILT_IN else _load(source)


@functools.cache
def _built_in(name: str) -> Policy:
    return _load(name)


def _load(source: str) -> Policy:
    raw, where = _raw(source)
    base = load_policy(raw["extends"]) if raw.get("extends") else None
    known = {"name", "description", "extends", "types", "text_types", "columns", "aliases",
             "other_columns", "text_ner"}  # fmt: skip
    extra = set(raw) - known
    if extra:
        raise PolicyError(f"{where}: unknown field(s) {', '.join(sorted(extra))}")
    types = {**(base.types if base else {}), **_type_table(raw.get("types"), f"{where}: types")}
    text_types = {
        **(base.text_types if base else {}),
        **_type_table(raw.get("text_types"), f"{where}: text_types"),
    }
    aliases = dict(base.aliases) if base else {}
    for kind, cols in (raw.get("aliases") or {}).items():
        if kind not in COLUMN_KINDS:
            raise PolicyError(f"{where}: aliases: unknown type {kind!r}")
        for c in cols or []:
            aliases[str(c).strip().lower()] = kind
    columns = dict(base.columns) if base else {}
    for col, v in (raw.get("columns") or {}).items():
        if isinstance(v, str):
            kind, op = v, None
        elif isinstance(v, dict) and "type" in v:
            kind = v["type"]
            rest = {k: x for k, x in v.items() if k != "type"}
            op = _spec(rest, f"{where}: columns.{col}") if rest else None
        else:
            raise PolicyError(f"{where}: columns.{col}: expected a type or {{type:, op:}}")
        if kind not in COLUMN_KINDS:
            raise PolicyError(
                f"{where}: columns.{col}: unknown type {kind!r}; known: {', '.join(COLUMN_KINDS)}"
            )
        columns[str(col)] = Column(kind, op)
    other = raw.get("other_columns", base.other_columns if base else "scan")
    if other not in ("scan", "keep", "drop"):
        raise PolicyError(f"{where}: other_columns must be scan, keep or drop")
    ner = raw.get("text_ner", base.text_ner if base else "auto")
    if ner not in ("auto", "lac", "rules", "off"):
        raise PolicyError(f"{where}: text_ner must be auto, lac, rules or off")
    return Policy(
        str(raw.get("name") or source),
        str(raw.get("description") or (base.description if base else "")).strip(),
        types,
        text_types,
        columns,
        aliases,
        other,
        ner,
    )


def operator(spec: OpSpec, keys: keyed.Keys | None, policy: str = "") -> Operator:
    """The function that applies one operator spec to a (type, value)."""
    o = spec.options
    if spec.keyed and keys is None:
        raise PolicyError(
            f"policy {policy or '?'} uses the keyed operator {spec.op}: give --key-file or set "
            f"{keyed.KEY_ENV}"
        )
    if spec.op == "mask":
        profile = o.get("profile", "display")
        return lambda t, v: masks.mask_value(t, v, profile)
    if spec.op == "redact":
        return lambda t, v: f"[{t}]"
    if spec.op == "keep":
        return lambda t, v: v
    if spec.op == "drop":
        return lambda t, v: None
    assert keys is not None
    if spec.op == "pseudonym":
        algo, n = o.get("algo", "hmac-sha256"), int(o.get("length", 16))
        return lambda t, v: keyed.pseudonym(t, v, keys, algo, n)
    if spec.op == "fake":
        region, year = bool(o.get("same_region")), bool(o.get("same_birth_year"))
        return lambda t, v: keyed.fake(t, v, keys, same_region=region, same_birth_year=year)
    algo = o.get("algo", "sm4-gcm")
    return lambda t, v: keyed.encrypt(v, keys, algo)
