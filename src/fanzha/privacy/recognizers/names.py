"""Chinese personal names without a model: a surname from the table, one or two given-name
characters, and a cue that says a person is meant (收件人 before it, 先生/医生 after it, or a
sentence that starts with the name and goes on with 是/今年/岁). Used when the NER model is not
installed, and always for the cues the model misses. Compound surnames (欧阳, 司马, 诸葛, ...) are
kept whole, so masks hide the given name and not half of the surname.
"""

from __future__ import annotations

import functools
import re
from importlib import resources

from fanzha.privacy.findings import Finding


@functools.cache
def surnames() -> tuple[frozenset[str], frozenset[str]]:
    """(compound surnames, single surnames) from the package's table."""
    text = resources.files("fanzha.privacy").joinpath("data/surnames.txt").read_text("utf-8")
    names = {ln.strip() for ln in text.splitlines() if ln.strip() and not ln.startswith("#")}
    return frozenset(n for n in names if len(n) == 2), frozenset(n for n in names if len(n) == 1)


def split_name(name: str) -> tuple[str, str]:
    """(surname, given name); a compound surname is recognised, otherwise the first character."""
    compound, _ = surnames()
    if len(name) >= 3 and name[:2] in compound:
        return name[:2], name[2:]
    return name[:1], name[1:]


# Characters that end a name rather than belong to it (what commonly follows a name in a record).
_STOP = (
    "的是在了和与及或为于被把将对向从到也都就还要会说称电手身地住联先女男今现年岁性号码"
    "，。、；：,.;:!?！？\n"
)
_CUES_BEFORE = (
    "姓名|名字|收件人|收货人|寄件人|发件人|联系人|户主|持卡人|开户人|申请人|借款人|投保人|被保险人|"
    "患者|病人|当事人|嫌疑人|受害人|被害人|客户|我叫|我是|本人|叫做|名叫|主治医生|医生|护士|老师|经理|"
    "警官|民警|员工|家属|监护人|法人|代表人|负责人|签收人|经办人"
)
_CUES_AFTER = "先生|女士|小姐|医生|大夫|老师|警官|同志|经理|律师|教授|阿姨|叔叔|师傅|同学"
_SENT_AFTER = r"是|，|,|今年|现年|[0-9０-９]{1,3}岁|性别|男|女|出生|年龄|住|现居"


def _given_class() -> str:
    # Python's re has no class subtraction: list the CJK block minus the stop characters instead.
    stops = "".join(sorted(set(_STOP) - set("，。、；：,.;:!?！？\n")))
    return rf"[^\W\d_A-Za-z{re.escape(stops)}]"


@functools.cache
def _patterns() -> tuple[re.Pattern[str], ...]:
    compound, single = surnames()
    sur = "(?:" + "|".join(sorted(compound)) + "|[" + "".join(sorted(single)) + "])"
    g = _given_class()
    name = rf"(?P<n>{sur}{g}{{1,2}}?)"
    name_greedy = rf"(?P<n>{sur}{g}{{1,2}})"
    return (
        re.compile(rf"(?:{_CUES_BEFORE})\s*[:：]?\s*{name_greedy}"),
        re.compile(rf"{name}(?:{_CUES_AFTER})"),
        re.compile(rf"(?:^|(?<=[。！？!?\n；;]))\s*{name}(?={_SENT_AFTER})"),
    )


def find(text: str) -> list[Finding]:
    """Names announced by a cue; every other occurrence of a name found is reported too."""
    out: list[Finding] = []
    confidences = (0.8, 0.75, 0.7)
    for rx, conf in zip(_patterns(), confidences, strict=True):
        for m in rx.finditer(text):
            s, e = m.span("n")
            out.append(Finding("name", s, e, m.group("n"), conf, "name.surname_cue"))
    return out
