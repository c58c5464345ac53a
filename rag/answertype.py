"""What kind of answer a question asks for (a date, a number, an age, a sum of money, a reason),
and whether a text holds one.

"How old is Pete Hegseth?" retrieves sentences about Hegseth that match it well, but none gives
an age: the archive does not answer it. A question that names its answer's type can only be
answered by evidence that contains a value of that type beyond what the question itself says.
"Why did Alaaeldin resign?" retrieves Alaaeldin's only sentence, which gives no reason for
anything: a "why" question needs evidence that states a cause or a purpose.
"""

from __future__ import annotations

import re
from enum import Enum

from index.lexical import tokenize


class AnswerType(Enum):
    DATE = "a date or time"
    NUMBER = "a number"
    AGE = "an age"
    MONEY = "a sum of money"
    REASON = "a reason"


_MONTHS = (
    r"jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sep(?:t(?:ember)?)?"
    r"|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?"
)
_NUMBER_WORDS = (
    r"one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|fifteen"
    r"|sixteen|seventeen|eighteen|nineteen|twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety"
    r"|hundreds?|thousands?|millions?|billions?|dozens?|scores|couple|half|single|double|twice|once"
)

# Question phrasings, checked in this order (the first match wins).
_ASKS = [
    (AnswerType.AGE, re.compile(r"\bhow old\b|\bwhat age\b|\bat what age\b|\bhow young\b", re.I)),
    (
        AnswerType.MONEY,
        re.compile(
            r"\bhow much (?:money|cash|funding|aid)\b|\bwhat (?:is|was) the (?:cost|price)\b|\bhow much (?:does|did|do|will|would) .{0,40}\b(?:cost|pay|spend|earn|fund)\b",
            re.I,
        ),
    ),
    (
        AnswerType.DATE,
        re.compile(
            r"^\s*when\b|\b(?:on|by|since|from|in|at) what (?:date|day|time|year|month)\b|\bwhat (?:date|day|year|month)\b"
            r"|\bwhich (?:date|day|year|month)\b|\bsince when\b|\bwhat time\b|\bhow long ago\b|\bin what year\b",
            re.I,
        ),
    ),
    (
        AnswerType.NUMBER,
        re.compile(r"\bhow many\b|\bhow much\b|\bwhat (?:number|percentage|share|proportion)\b|\bpopulation\b", re.I),
    ),
    (
        AnswerType.REASON,
        re.compile(
            r"\bwhy\b|\bhow come\b|\bfor what reasons?\b|\bwhat (?:is|was|were|are) the (?:reasons?|motives?|causes?|rationale)\b"
            r"|\bwhat (?:prompted|led|caused|drove|made|motivated|pushed)\b",
            re.I,
        ),
    ),
]

_VALUES = {
    # "44-year-old", "aged 44", "Hegseth, 44, said"
    AnswerType.AGE: re.compile(r"\b\d{1,3}[- ]years?[- ]old\b|\baged? \d{1,3}\b|\bage of \d{1,3}\b|,\s?\d{1,3},", re.I),
    AnswerType.MONEY: re.compile(
        r"[$€£¥]\s?\d|\b\d[\d,.]*\s?(?:dollars?|euros?|pounds?|dinars?|rials?|riyals?|usd|eur)\b|\b(?:dollars?|euros?|dinars?|rials?)\b",
        re.I,
    ),
    AnswerType.DATE: re.compile(
        rf"\b(?:{_MONTHS})\b\.?|\b(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday)\b|\b1[89]\d\d\b|\b20\d\d\b"
        r"|\b\d{1,2}:\d\d\b|\b(?:week|weekend|month|year|decade|century|yesterday|today|tonight|tomorrow|morning|evening|night)s?\b"
        r"|\bago\b|\b(?:spring|summer|autumn|fall|winter)\b",
        re.I,
    ),
    AnswerType.NUMBER: re.compile(rf"\d|\b(?:{_NUMBER_WORDS})\b|\b(?:few|several)\b", re.I),
    # Explicit cause and purpose connectives; bare "since" and "after" are mostly about time.
    AnswerType.REASON: re.compile(
        r"\bbecause\b|\b(?:due|owing|thanks) to\b|\bfor fear\b|\bfear(?:ing|s|ed)? (?:of|that)\b|\bin order to\b"
        r"|\bso as to\b|\bso that\b|\b(?:designed|aimed|intended|meant) (?:to|at)\b|\baim(?:s|ed)? to\b"
        r"|\bto (?:avoid|avert|prevent|stop|defuse|escape|protect|counter|deter|ensure)\b"
        r"|\bin (?:response|reaction|retaliation|solidarity|support|protest)\b|\bas a (?:result|consequence)\b"
        r"|\bresult(?:ed|s|ing)? (?:of|from)\b|\bin the (?:\w+ )?wake of\b|\bamid\b|\bprompted\b|\bled to\b"
        r"|\breasons?\b|\bmotiv\w*|\bout of (?:fear|concern)\b|\bgiven that\b|\bunless\b|\bif\b",
        re.I,
    ),
}


# When an article came out is in its dateline, which every citation carries, not in its text.
_ABOUT_PUBLICATION = re.compile(r"\bpublish\w*|\bpublication\b|\bdated\b|\b(?:came|come|comes) out\b", re.I)


def expected_type(question: str) -> AnswerType | None:
    """The type of value the question asks for, or None when it does not name one (or asks when
    an article was published)."""
    if _ABOUT_PUBLICATION.search(question):
        return None
    for kind, pattern in _ASKS:
        if pattern.search(question):
            return kind
    return None


def values(kind: AnswerType, text: str) -> set[str]:
    """The values of that type a text mentions, lower-cased."""
    return {m.group(0).lower().strip() for m in _VALUES[kind].finditer(text)}


_HOW_MANY = re.compile(
    r"\bhow many ((?:[\w'-]+ ){0,3}?[\w'-]+?)"
    r"(?= (?:do|does|did|are|were|is|was|have|has|had|make|made|will|would|can|could|in|of|on|from|among|said"
    r"|died|came)\b|[?,.]|$)",
    re.I,
)
_A_NUMBER = re.compile(rf"\d[\d,.]*|{_NUMBER_WORDS}|few|several")
COUNT_WINDOW = 4  # words between a number and the thing it counts ("about 10 Shiite armed groups")


def counted(question: str) -> set[str]:
    """The words naming what a "how many" question counts ("how many Shiite armed groups make up
    ..." -> shiite, armed, groups), lower-cased; empty for other questions."""
    m = _HOW_MANY.search(question)
    return {w.lower() for w in m.group(1).split()} if m else set()


def counts(question: str, text: str) -> bool:
    """Whether the text gives a number of the thing a "how many" question counts: a number
    followed within COUNT_WINDOW words by one of its words ("six local commanders")."""
    things = set(tokenize(" ".join(counted(question))))
    words = re.findall(r"[\w,.'-]+", text.lower())
    for i, w in enumerate(words):
        if _A_NUMBER.fullmatch(w.strip(",.")) and things & set(tokenize(" ".join(words[i + 1 : i + 1 + COUNT_WINDOW]))):
            return True
    return False


def holds_answer(kind: AnswerType, question: str, texts: list[str]) -> bool:
    """Whether any of the texts mentions a value of that type that the question does not already give."""
    given = values(kind, question)
    return any(values(kind, t) - given for t in texts)


def gives(kind: AnswerType, question: str, text: str) -> bool:
    """Whether the text gives the value asked for: for "how many X", a number of X; otherwise
    any value of the type that the question does not already give."""
    if kind is AnswerType.NUMBER and counted(question):
        return counts(question, text)
    return holds_answer(kind, question, [text])
