"""The numbers-only scan (resident IDs, mobiles, e-mail) compiled with numba: the fast mode that
sweeps leaked-data dumps and fraud-advert chats for "１３８ 0013 8000" and "壹壹零…X".

One compiled call reads every text of a `Scanner.scan_many` call as code points and returns the
findings as integers (text, start, end, type, confidence code, value); Python then makes the Finding
objects. It does exactly what `detect._numbers` and `net.email_spans` do - the digit runs of
`normalize.run_regex`, the whole run first and then its groups (`detect._split`), the ID check
character, birth date and region of `fanzha.ids.resident_id`, the mobile segments of
`phone.MOBILE_PATTERN`, the e-mail pattern's backtracking - and is tested equal to them
(tests/privacy/test_compiled.py). Character classes and tables are built from the Python
definitions, not copied. Without numba, or for other types, the Python path runs.
"""

from __future__ import annotations

import datetime as _dt
import functools
import itertools
import re
from collections.abc import Sequence
from re import _parser as sre_parse  # the parser re itself uses

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from fanzha.privacy.findings import Finding, _Twin, resolve, spans_of
from fanzha.privacy.normalize import (
    _ASCII,
    _CN,
    _OTHER,
    _WIDE,
    _X,
    DIGIT_CLASS,
    FOLD,
    MAX_SEP,
    RUN_DIGITS,
    SEP_CLASS,
)
from fanzha.privacy.recognizers._rules import CONTEXT_WINDOW, _any_form

#: The types the compiled pass finds; any other type asked for sends the scan down the Python path.
SUPPORTED = frozenset({"resident_id", "mobile", "email"})
_ID, _MOBILE, _EMAIL = 0, 1, 2
# the e-mail pattern whose matches the kernel finds (net.EMAIL, with its character classes)
_EMAIL_RX = (
    r"(?<![{local}])(?P<v>[{w}][{local}]{{0,63}}[{at}]"
    r"[{w}\-－]+(?:[.．][{w}\-－]+)*[.．][A-Za-zＡ-Ｚａ-ｚ]{{2,24}})"
)
_CHUNK_CHARS = 1 << 22  # code points per compiled call (16 MB of uint32)


@functools.cache
def available() -> bool:
    """numba imports (it is imported on the first numbers-only scan, not with fanzha) and the
    rules are the ones the kernel implements."""
    try:
        import numba  # noqa: F401
    except ImportError:
        return False
    return _setup() is not None


def supports(types: frozenset[str]) -> bool:
    return bool(types) and types <= SUPPORTED and available()


# --- tables, built once from the Python definitions -----------------------------------------------


@functools.cache
def _setup():
    """The tables the kernel reads and the names and confidences of its findings, or None if
    the rules are not the ones it implements (then the Python path runs). The validators'
    logic itself (ids._resident_id, ids._id_like, phones._mobile) is the kernel's, held equal
    by tests/privacy/test_compiled.py."""
    from fanzha.ids import resident_id
    from fanzha.ids.phone import MOBILE_PATTERN
    from fanzha.privacy.detect import MAX_DIGITS, SURE
    from fanzha.privacy.recognizers import NUMBER_RULES, PATTERN_RULES, ids, net

    by_type: dict[str, list] = {}
    for r in (*NUMBER_RULES, *PATTERN_RULES):
        if r.type in SUPPORTED:
            by_type.setdefault(r.type, []).append(r)
    rid, mob, email = by_type.get("resident_id"), by_type.get("mobile"), by_type.get("email")
    if not (rid and mob and email and len(rid) == len(mob) == len(email) == 1):
        return None
    rid, mob, email = rid[0], mob[0], email[0]
    if (
        MAX_DIGITS != 19
        or (rid.name, rid.lengths, rid.allow_x, rid.context_required)
        != ("resident_id.gb11643", frozenset({15, 18}), True, False)
        or (mob.name, mob.lengths, mob.allow_x, mob.context_required)
        != ("phone.mobile", frozenset({11, 13}), False, False)
        or (email.name, email.regex, email.validate, email.context, email.spans)
        != (
            "email.address",
            _EMAIL_RX.format(w=net._W, local=net._LOCAL, at=net._AT),
            None,
            (),
            net.email_spans,
        )
    ):
        return None
    mobile_sets = _fixed_length_sets(MOBILE_PATTERN)
    if mobile_sets is None or mobile_sets.shape[1] != 11:
        return None

    def conf(rule, base: float, ctx: bool, plain: bool) -> float:  # as detect._checker does it
        c = base
        if rule.context_required or (c < SURE and ctx):
            c += rule.context_boost
        if not plain:
            c -= rule.obfuscated_penalty
        if c > 1.0:
            c = 1.0
        return c

    confs = [min(1.0, email.score + 0.0)] * 24  # as detect._patterns makes an e-mail's
    for typ, rule in ((_ID, rid), (_MOBILE, mob)):
        for code in range(8):
            base = 0.6 if code & _CONF_ID_LIKE else 0.99  # what the validators return
            ctx, plain = bool(code & _CONF_CONTEXT), bool(code & _CONF_PLAIN)
            confs[typ * 8 + code] = conf(rule, base, ctx, plain)

    codes: dict[int, list[tuple[int, int]]] = {}
    for r in resident_id.regions():
        lo = -1 if r.start is None else r.start
        hi = 1_000_000 if r.end is None else r.end
        codes.setdefault(int(r.code), []).append((lo, hi))
    reg_codes = np.array(sorted(codes), np.int64)
    spans = [codes[c] for c in reg_codes.tolist()]
    reg_offs = np.zeros(len(spans) + 1, np.int64)
    reg_offs[1:] = np.cumsum([len(s) for s in spans])
    reg_years = np.array([y for s in spans for y in s], np.int64).reshape(-1, 2)
    perm_prov = np.zeros(100, np.bool_)
    perm_prov[[int(p) for p in resident_id._PROVINCES]] = True
    like_prov = np.zeros(100, np.bool_)
    like_prov[[int(p) for p in ids._PROVINCES]] = True
    tables = _pack(
        mobile_sets.astype(np.int64).ravel(),
        reg_codes,
        reg_offs,
        reg_years.ravel(),
        perm_prov.astype(np.int64),
        like_prov.astype(np.int64),
        np.array([1900, resident_id._LOADED_IN, ids._LOADED_IN], np.int64),
        n_sets=len(mobile_sets),
        n_codes=len(reg_codes),
    )
    return {
        "confs": confs,
        "rule_names": (rid.name, mob.name, email.name),
        "context": _context_words(rid.context),
        "email_fold": _email_fold(),
        "tables": tables,
        "chars": _char_classes(),
        "email_chars": _email_classes(),
    }


def _pack(sets, codes, offs, years, perm, like, limits, *, n_sets: int, n_codes: int) -> np.ndarray:
    """The validation tables in one int64 array, laid out as _scan_kernel's header says."""
    from fanzha.privacy import _scan_kernel as k

    parts = [sets, codes, offs, years, perm, like, limits]
    header = np.zeros(k.HEADER, np.int64)
    header[k.N_SETS], header[k.N_CODES] = n_sets, n_codes
    at = k.HEADER
    for slot, part in zip(
        (k.SETS, k.CODES, k.OFFS, k.YEARS, k.PERM, k.LIKE, k.LIMITS), parts, strict=True
    ):
        header[slot] = at
        at += len(part)
    return np.concatenate([header, *parts]).astype(np.int64)


def _bmp_class(cls: str) -> np.ndarray:
    """Which code points a regex character class of BMP characters matches (what `re` says)."""
    assert max(map(ord, cls)) < 0x10000, "a class beyond the BMP: tables cover only the BMP"
    every = "".join(map(chr, range(0x10000)))
    hit = np.zeros(0x110000, np.bool_)
    hit[[m.start() for m in re.finditer(f"[{cls}]", every)]] = True
    return hit


def _char_classes() -> np.ndarray:
    """0 other, 1 separator, 2 the X of an ID, 9 an @, 10 + 10 * script + value for a digit."""
    out = np.zeros(0x110000, np.int8)
    out[_bmp_class(SEP_CLASS)] = 1
    out[_bmp_class(re.escape(_X))] = 2
    digits = _bmp_class(DIGIT_CLASS)
    for script, cls in enumerate((_ASCII, _WIDE, re.escape(_CN), re.escape(_OTHER))):
        for c in np.flatnonzero(_bmp_class(cls)).tolist():
            assert digits[c] and out[c] == 0
            out[c] = 10 + 10 * script + int(chr(c).translate(RUN_DIGITS))
    assert (out >= 10).sum() == digits.sum()
    from fanzha.privacy import _scan_kernel as k
    from fanzha.privacy.recognizers import net

    at = _bmp_class(net._AT)
    assert not out[at].any()
    out[at] = k.AT  # the kernel notes where the @ are while it looks for digits
    return out


# bits of the e-mail character classes (net.EMAIL)
_W, _LOCAL, _AT, _LABEL, _DOT, _LETTER = 1, 2, 4, 8, 16, 32


def _email_classes() -> np.ndarray:
    from fanzha.privacy.recognizers import net

    out = np.zeros(0x110000, np.int8)
    for bit, cls in (
        (_W, net._W),
        (_LOCAL, net._LOCAL),
        (_AT, net._AT),
        (_LABEL, rf"{net._W}\-－"),
        (_DOT, ".．"),
        (_LETTER, "A-Za-zＡ-Ｚａ-ｚ"),
    ):
        out[_bmp_class(cls)] |= bit
    return out


def _context_words(words: tuple[str, ...]):
    """Context words as what _rules.context_regex matches: for each BMP code point, bit
    w * longest + i set if it can be character i of word w; the words' lengths; the window."""
    every = "".join(map(chr, range(0x10000)))
    longest = max(map(len, words))
    assert len(words) * longest <= 63
    forms = np.zeros(0x10000, np.int64)
    for w, word in enumerate(words):
        for i, c in enumerate(word):
            hits = [m.start() for m in re.finditer(_any_form(c), every)]
            assert hits
            forms[hits] |= 1 << (w * longest + i)
    lengths = np.array([len(w) for w in words], np.int64)
    return forms, lengths, longest, CONTEXT_WINDOW


def _email_fold() -> np.ndarray:
    """Each e-mail character folded (normalize.fold): the ASCII byte an e-mail's value holds."""
    out = np.zeros(0x10000, np.uint8)
    for c in np.flatnonzero(_email_classes()).tolist():
        folded = chr(c).translate(FOLD)
        assert len(folded) == 1 and folded.isascii(), chr(c)
        out[c] = ord(folded)
    return out


def _fixed_length_sets(pattern: str) -> np.ndarray | None:
    """A regular expression of literals, classes, alternatives and fixed repeats as the union of
    products of digit sets (rows of bit masks, one per position); None if it is anything else."""

    def expand(items) -> list[list[int]] | None:
        seqs: list[list[int]] = [[]]
        for op, av in items:
            if op is sre_parse.LITERAL and 48 <= av <= 57:
                alts = [[1 << (av - 48)]]
            elif op is sre_parse.IN:
                mask = 0
                for iop, iav in av:
                    if iop is sre_parse.LITERAL and 48 <= iav <= 57:
                        mask |= 1 << (iav - 48)
                    elif iop is sre_parse.RANGE and 48 <= iav[0] <= iav[1] <= 57:
                        mask |= sum(1 << (d - 48) for d in range(iav[0], iav[1] + 1))
                    elif iop is sre_parse.CATEGORY and iav is sre_parse.CATEGORY_DIGIT:
                        mask |= 0x3FF  # \d on ASCII digits (the input holds nothing else)
                    else:
                        return None
                alts = [[mask]]
            elif op is sre_parse.SUBPATTERN:
                alts = expand(av[-1])
            elif op is sre_parse.BRANCH:
                alts = []
                for b in av[1]:
                    sub = expand(b)
                    if sub is None:
                        return None
                    alts += sub
            elif op is sre_parse.MAX_REPEAT and av[0] == av[1]:
                alts = [[]]
                for _ in range(av[0]):
                    sub = expand(av[2])
                    if sub is None:
                        return None
                    alts = [a + b for a in alts for b in sub]
            else:
                return None
            if alts is None:
                return None
            seqs = [s + a for s in seqs for a in alts]
        return seqs

    seqs = expand(sre_parse.parse(pattern))
    if not seqs or len({len(s) for s in seqs}) != 1:
        return None
    return np.array(seqs, np.int16)


# --- the kernel ----------------------------------------------------------------------------------


@functools.cache
def _kernel():
    """The compiled scan (numba compiles it on first use, or loads its on-disk cache)."""
    from fanzha.privacy import _scan_kernel

    return _scan_kernel.scan


# --- findings ------------------------------------------------------------------------------------


def scan_many(texts: Sequence[str], types: frozenset[str], least: float) -> list[list[Finding]]:
    """`Scanner.scan_many` for `types` (all SUPPORTED) and min_confidence `least`."""
    setup = _setup()
    out: list[list[Finding]] = []
    for _first, joined, chunk, result in _kernel_chunks(texts, types, setup):
        out.extend(_findings(joined, chunk, result, setup, least))
    return out


def scan_spans(texts: Sequence[str], types: frozenset[str], least: float) -> pa.Table:
    """`Scanner.scan_spans`: the findings of `scan_many` as columns (text, start, end, type,
    confidence, rule), made from the kernel's integer rows without a Python object per finding.
    Texts whose findings overlap (rare) go through `scan_many`'s resolution."""
    setup = _setup()
    confs = np.array(setup["confs"], np.float64)
    parts: list[pa.Table] = []
    for first, _joined, chunk, result in _kernel_chunks(texts, types, setup):
        rows, cuts, overlap, _values = result
        text = np.repeat(np.arange(first, first + len(chunk), dtype=np.int64), np.diff(cuts))
        conf = confs[rows[:, 3]]
        keep = conf >= least
        if len(overlap):
            keep &= ~np.isin(text, overlap + first)
        part = spans_table(text[keep], rows[keep, 0], rows[keep, 1], rows[keep, 2], conf[keep])
        parts.append(part)
        if len(overlap):  # only these texts again, as Findings resolved like scan_many's
            ks = [int(k) + first for k in overlap]
            again = scan_many([texts[k] for k in ks], types, least)
            parts.append(spans_of(dict(zip(ks, again, strict=True))))
    if not parts:
        return spans_table(*(np.zeros(0, np.int64) for _ in range(4)), np.zeros(0))
    t = pa.concat_tables(parts)
    return t.take(pc.sort_indices(t, [("text", "ascending"), ("start", "ascending")]))


def spans_table(text, start, end, type_code, confidence) -> pa.Table:
    """The columns of `scan_spans` from arrays (type codes index `_TYPE_NAMES`)."""
    names = pa.array(_TYPE_NAMES)
    rules = pa.array(_setup()["rule_names"])
    codes = pa.array(np.asarray(type_code, np.int32))
    return pa.table(
        {
            "text": pa.array(np.asarray(text, np.int64)),
            "start": pa.array(np.asarray(start, np.int64)),
            "end": pa.array(np.asarray(end, np.int64)),
            "type": pa.DictionaryArray.from_arrays(codes, names),
            "confidence": pa.array(np.asarray(confidence, np.float64)),
            "rule": pa.DictionaryArray.from_arrays(codes, rules),
        }
    )


def _kernel_chunks(texts: Sequence[str], types: frozenset[str], setup):
    """(index of the chunk's first text, the chunk joined, the chunk, the kernel's result) for
    runs of texts of at most _CHUNK_CHARS code points (a longer text alone)."""
    want_id, want_mob = "resident_id" in types, "mobile" in types
    lengths = (want_id and (1 << 15 | 1 << 18)) | (want_mob and (1 << 11 | 1 << 13))
    shortest = 11 if want_mob else 15
    params = (want_id, want_mob, "email" in types, max(5, shortest - 1), shortest, lengths)
    today_arr = _today(_dt.date.today())
    chars, ecls, efold = setup["chars"], setup["email_chars"], setup["email_fold"]
    start = 0
    while start < len(texts):
        end, size = start, 0
        while end < len(texts) and (end == start or size + len(texts[end]) <= _CHUNK_CHARS):
            size += len(texts[end])
            end += 1
        chunk = texts[start:end]
        joined = "".join(chunk)
        cps = np.frombuffer(joined.encode("utf-32-le", "surrogatepass"), np.uint32)
        if len(chunk) == 1:
            offs = np.array([0, len(joined)], np.int64)
        else:
            offs = np.zeros(len(chunk) + 1, np.int64)
            np.cumsum([len(t) for t in chunk], out=offs[1:])
        result = _kernel()(
            cps,
            offs,
            *params,
            today_arr,
            chars,
            ecls,
            efold,
            setup["tables"],
            *setup["context"],
            MAX_SEP,
        )
        yield start, joined, chunk, result
        start = end


@functools.lru_cache(maxsize=1)
def _today(day: _dt.date) -> np.ndarray:
    return np.array([day.year, day.month, day.day], np.int64)


def _findings(
    joined: str, chunk: Sequence[str], result, setup, least: float
) -> list[list[Finding]]:
    """Finding objects from the kernel's rows, with text, value and confidence as the Python path
    makes them. Each is made as findings._Twin (plain slot stores, not the frozen dataclass's
    object.__setattr__) and then given the class Finding: the same frozen object, made in a
    third of the time (this loop is most of a numbers-only scan's time)."""
    rows, cuts, overlap, value_bytes = result
    values = value_bytes.tobytes().decode("ascii") if len(value_bytes) else ""
    types, rules, confs = _TYPE_NAMES, setup["rule_names"], setup["confs"]
    flat: list = []
    add, new = flat.append, object.__new__
    for s, e, t, c, gs, ge, vs, ve in zip(*rows.T.tolist(), strict=True):
        f = new(_Twin)
        f.type = types[t]
        f.start = s
        f.end = e
        f.text = raw = joined[gs:ge]
        f.confidence = confs[c]
        f.rule = rules[t]
        f.value = raw if vs < 0 else values[vs:ve]
        add(f)
    for f in flat:
        f.__class__ = Finding
    cut = cuts.tolist()
    per = [flat[a:b] for a, b in itertools.pairwise(cut)]
    if least > min(confs):  # a floor above some finding's confidence
        per = [[f for f in fs if f.confidence >= least] for fs in per]
    if len(overlap):  # the texts with findings that overlap
        for k in overlap.tolist():
            per[k] = resolve(per[k])
    return per


_TYPE_NAMES = ("resident_id", "mobile", "email")
# a finding's confidence code: type * 8 + these bits (the kernel sets the first two)
_CONF_PLAIN, _CONF_ID_LIKE, _CONF_CONTEXT = 1, 2, 4
