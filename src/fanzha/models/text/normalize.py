"""Undo the spellings fraudsters use to slip SMS and chat past keyword filters.

Fraud SMS and chat scripts are written to evade filters: full-width letters and digits
("ｑｑ１３８"), decorations between the characters of a word ("八.年.老.店", "微*信"), digits
broken up by symbols or spaces ("加q:56793.***6", "1 3 8 0 0 1 3 8 0 0 0"), look-alike letters from
other scripts (Cyrillic "о" for Latin "o"), traditional characters, zero-width characters, and
nicknames of contact channels ("薇信", "vx", "扣扣"). `normalize` maps all of these onto one plain
form, so that a classifier trained on plain text sees the same n-grams.

It never removes ordinary Chinese punctuation between two words ("你好。我是"), a decimal point
or a time ("1.5元", "10:30"), or line breaks (they separate the turns of a dialogue).
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

import opencc
from confusable_homoglyphs import categories, confusables

# Scripts whose letters are never rewritten (they are what the text is written in, or not
# confusable with Latin in practice).
_KEEP_SCRIPTS = {
    "LATIN",
    "COMMON",
    "HAN",
    "HIRAGANA",
    "KATAKANA",
    "HANGUL",
    "BOPOMOFO",
    "INHERITED",
}


@lru_cache(maxsize=1)
def _homoglyphs() -> dict[int, str]:
    """Letters of other scripts that look like an ASCII letter or digit (Unicode confusables)."""
    table: dict[int, str] = {}
    for ch, glyphs in confusables.confusables_data.items():
        if len(ch) != 1 or ch.isascii():
            continue
        try:
            script = categories.alias(ch)
        except Exception:  # a code point the categories table does not know
            continue
        if script in _KEEP_SCRIPTS:
            continue
        for g in glyphs:
            c = g["c"]
            if len(c) == 1 and c.isascii() and c.isalnum():
                table[ord(ch)] = c.lower()
                break
    return table


@lru_cache(maxsize=1)
def _t2s() -> opencc.OpenCC:
    return opencc.OpenCC("t2s")


# OpenCC maps 帳 to 帐, but standard simplified Chinese writes money accounts with 账.
_ACCOUNT_FIX = re.compile(r"帐(?=[户号单目款务期])|(?<=[转到对记结算查挂销入])帐")

# Nicknames of contact channels and payment apps written to dodge keyword filters.
_CHANNELS: tuple[tuple[str, str], ...] = (
    (r"(?<![a-z])(?:vx|wx|weixin|wechat)(?![a-z])|v信|v芯|微芯|薇信|威信|徽信|微❤", "微信"),
    (r"扣扣|企鹅(?=号)|(?<![a-z])q\s+q(?![a-z])|(?<![a-z])q(?=号)", "qq"),
    (r"(?<=[加+])\s*(?:q|扣)(?![a-z])", "qq"),
    (r"(?<=[加+])\s*v(?![a-z])", "微信"),
    (r"(?<![a-z])zfb(?![a-z])|支付bao|支付寳", "支付宝"),
)
_CHANNEL_RES = tuple((re.compile(p), r) for p, r in _CHANNELS)

# Symbols used as decoration inside words and numbers (never meaningful inside a word).
_DECOR = r"\*#~_·•・|^`'\"+=\-/\\.,，。、:：;；!！?？…—–()（）\[\]【】<>《》{}★☆♥❤♡✿❀◆◇●○■□▲△※→←"
_SEP = rf"[\s{_DECOR}]"
# Three or more single characters with the same short separator between each: "八.年.老.店",
# "1 3 8 0 0" (ordinary punctuation varies: "吧!(注)本" is left alone).
_INTERLEAVED = re.compile(rf"\w({_SEP}{{1,3}})\w(?:\1\w)+")
_SEP_RUN = re.compile(rf"{_SEP}+")
# Separators between two digits that contain a decoration or a space: "56793.***6", "138 0013".
_DIGIT_GAP = re.compile(rf"(?<=\d)(?:{_SEP}+)(?=\d)")
_PLAIN_DIGIT_GAP = re.compile(r"[.,:/\-]")
# Decorations between two Chinese characters: "微*信", "支~付~宝".
_CJK = r"\u3400-\u4dbf\u4e00-\u9fff"
_CJK_GAP = re.compile(rf"(?<=[{_CJK}])[\*#~_·•・|^`★☆♥❤♡✿❀◆◇●○■□▲△※]+(?=[{_CJK}])")
# Chinese numerals written out where digits are meant: "幺三八零零一三八零零零".
_CN_DIGITS = str.maketrans("〇零一二三四五六七八九幺两", "0012345678912")
_CN_NUMBER = re.compile(r"[〇零一二三四五六七八九幺两]{5,}")
_INVISIBLE = re.compile(
    r"[\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b-\u200f"
    r"\u202a-\u202e\u2060-\u206f\u3164\ufe00-\ufe0f\ufeff\uffa0]"
)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_SPACES = re.compile(r"[ \t\u3000]+")
_BLANK_LINES = re.compile(r"\s*\n\s*")


def _join_interleaved(m: re.Match[str]) -> str:
    return _SEP_RUN.sub("", m.group(0))


def _join_digits(m: re.Match[str]) -> str:
    gap = m.group(0)
    if len(gap) == 1 and _PLAIN_DIGIT_GAP.fullmatch(gap):
        return gap  # a decimal point, thousands separator, time, date or phone dash
    return ""


def normalize(text: str) -> str:
    """The plain form of a text: what a keyword filter or a classifier should read."""
    text = _INVISIBLE.sub("", text)
    text = _CONTROL.sub(" ", text.replace("\r\n", "\n").replace("\r", "\n"))
    text = unicodedata.normalize("NFKC", text)
    text = text.translate(_homoglyphs()).lower()
    text = _t2s().convert(text)
    text = _ACCOUNT_FIX.sub("账", text)
    text = _CN_NUMBER.sub(lambda m: m.group(0).translate(_CN_DIGITS), text)
    lines = []
    for line in text.split("\n"):
        line = _SPACES.sub(" ", line)
        line = _INTERLEAVED.sub(_join_interleaved, line)
        line = _DIGIT_GAP.sub(_join_digits, line)
        line = _CJK_GAP.sub("", line)
        for rx, repl in _CHANNEL_RES:
            line = rx.sub(repl, line)
        lines.append(_SPACES.sub(" ", line).strip())
    return _BLANK_LINES.sub("\n", "\n".join(lines)).strip()
