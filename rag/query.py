"""The parsed question: one record, built once per question with spaCy, read by every later step
(retrieval scope, reader, abstention features, composition) instead of each re-parsing the string."""

from __future__ import annotations

import re
from dataclasses import dataclass

from index.text import fold, stem

# What each kind of question is answered with, in spaCy's entity labels (OntoNotes scheme).
TYPE_LABELS: dict[str, frozenset[str]] = {
    "person": frozenset({"PERSON", "ORG", "NORP"}),
    "place": frozenset({"GPE", "LOC", "FAC"}),
    "date": frozenset({"DATE", "TIME"}),
    "number": frozenset({"CARDINAL", "QUANTITY", "MONEY", "PERCENT", "DATE", "TIME", "ORDINAL"}),
}
# Questions answered by a statement rather than a name, number, date or short phrase.
SENTENCE_TYPES = frozenset({"reason", "manner", "yesno"})
_PART_SPLIT = re.compile(
    r",?\s+(?:and|but)\s+(?=(?:what|when|where|who|whom|which|why|how|did|does|do|is|are|was|were|has|have)\b)", re.I
)
_COMPARATIVE = re.compile(
    r"\b(each|both|all|two|three|several|the) (of the )?(articles?|reports?|stories|pieces|outlets|sources)\b"
    r"|\bdiffer|\bdifference|\bcompar|\bcontrast|\bdisagree|\bagree\b|\bwhich (article|report|story|piece|outlet)\b"
    r"|\bone article\b|\bthe other (article|report|story|outlet)\b|\bin common\b",
    re.I,
)
_CONTENT_POS = frozenset({"NOUN", "PROPN", "VERB", "ADJ", "NUM", "ADV"})
_OBJECT_PRONOUNS = frozenset({"it", "them", "him", "her"})
_PRONOUNS = frozenset({"he", "she", "they", "him", "her", "his", "hers", "their", "them", "it", "its", "theirs"})
_ACCORDING_TO = re.compile(r"\baccording to\s+(?:the\s+)?$", re.I)  # before a name the question cites
_ARTICLE_LEMMAS = frozenset({"article", "story", "piece"})  # words that name an article itself


@dataclass(frozen=True)
class Entity:
    """A name the question uses, with spaCy's type and its offsets in the question."""

    text: str
    label: str
    start: int
    end: int


@dataclass(frozen=True)
class Query:
    """Everything the pipeline needs to know about a question."""

    text: str
    terms: tuple[str, ...]  # stems of the content words (not the question words)
    entities: tuple[Entity, ...]
    answer_type: str  # person | place | date | number | reason | manner | yesno | thing
    wh: str  # the question word ("who", "how many", ...) or ""
    parts: tuple[str, ...]  # the parts of a two-part question (one part otherwise)
    comparative: bool  # about how the articles relate
    followup: bool  # leans on an earlier turn: a pronoun or an ellipsis, no subject of its own
    asking_first: str = ""  # the question as the reader reads it: the sentence that asks, then its lead-in
    head: str = ""  # the noun a "which"/"what" asks for ("which country" -> "country"), lemma, lower case
    wanted: frozenset[str] = frozenset()  # labels the answer-type model expects for `head` (rag.answer_types)
    # What the question says of an article itself, from its parse: the verbs "article" / "story" /
    # "piece" is the subject or object of ("who wrote the article?" -> write) and the nouns it is
    # "of" ("the author of the piece" -> author), as lemmas; under a "be" ("when was the article
    # published?") every lemma of its children and of the article's phrase, where the small parser
    # hangs the verb. Read by overlap with the verbs a rule looks for.
    article_verbs: frozenset[str] = frozenset()
    article_nouns: frozenset[str] = frozenset()
    # The names the question attributes what it asks to: "According to the BBC, ..." -> ("BBC",).
    attributed: tuple[str, ...] = ()

    @property
    def for_reader(self) -> str:
        """The text the reader is given (the question itself when it has no lead-in)."""
        return self.asking_first or self.text

    @property
    def short(self) -> bool:
        """Whether the answer is a name, number, date, place or short phrase (not a statement)."""
        return self.answer_type not in SENTENCE_TYPES

    @property
    def labels(self) -> frozenset[str]:
        """spaCy entity labels an answer of this type has (empty: any). A "which X" question has the
        labels the fitted answer-type model expects for X ("which country": GPE), when it expects one."""
        return TYPE_LABELS.get(self.answer_type) or self.wanted


def question_parts(question: str) -> list[str]:
    """A two-part question ("Why X, and what Y?") split into its parts; otherwise the question."""
    parts = [p.strip(" ,?") for p in _PART_SPLIT.split(question) if len(p.strip(" ,?").split()) >= 3]
    return parts if len(parts) > 1 else [question]


def answer_type(doc: object) -> tuple[str, str]:
    """(type, question word) from the question's first wh-word and what follows it."""
    tokens = list(doc)  # type: ignore[call-overload]
    for i, t in enumerate(tokens):
        low = t.lower_
        nxt = tokens[i + 1].lower_ if i + 1 < len(tokens) else ""
        if t.tag_ not in ("WDT", "WP", "WP$", "WRB"):
            continue
        if low == "how":
            if nxt in ("many", "much"):
                return "number", f"how {nxt}"
            if nxt in ("old", "long", "far", "big", "tall", "large", "often", "fast", "high", "deep", "heavy"):
                return "number", f"how {nxt}"
            return "manner", "how"
        if low == "why":
            return "reason", "why"
        if low == "when":
            return "date", "when"
        if low == "where":
            return "place", "where"
        if low in ("who", "whom", "whose"):
            return "person", low
        # "what year", "which city": the noun after the wh-word says the type when it is a unit of time.
        head = tokens[i + 1] if i + 1 < len(tokens) and tokens[i + 1].pos_ == "NOUN" else None
        if head is not None and head.lemma_.lower() in ("year", "date", "day", "month", "decade", "century", "time"):
            return "date", f"{low} {head.lower_}"
        if head is not None and head.lemma_.lower() in ("percentage", "number", "amount", "percent"):
            return "number", f"{low} {head.lower_}"
        return "thing", low
    if tokens and tokens[0].pos_ == "AUX":
        return "yesno", ""
    return "thing", ""


def head_noun(doc: object) -> str:
    """The noun a "which"/"what" question asks for, as a lower-case lemma: "Which major US company
    ..." -> "company", "What kind of rock ..." -> "kind"; "" when the question word is not followed
    by one."""
    tokens = list(doc)  # type: ignore[call-overload]
    for i, t in enumerate(tokens):
        if t.tag_ not in ("WDT", "WP", "WP$", "WRB"):
            continue
        if t.lower_ not in ("which", "what"):
            return ""
        j = i + 1
        # Past the modifiers to the last noun of the first noun run ("which US Senate seat").
        while j < len(tokens) and tokens[j].pos_ in ("ADJ", "NOUN", "PROPN", "NUM", "ADV"):
            if tokens[j].pos_ == "NOUN" and (j + 1 == len(tokens) or tokens[j + 1].pos_ != "NOUN"):
                return str(tokens[j].lemma_).lower()
            j += 1
        return ""
    return ""


def asking_first(doc: object) -> str:
    """A question with a lead-in, its asking sentence moved first: "Mauna Loa erupted this week.
    Where is it located?" -> "Where is it located? Mauna Loa erupted this week." The reader was
    trained on single-sentence questions (SQuAD's) and reads a lead-in sentence as the question;
    the lead-in still follows, for what the asking sentence refers to. Unchanged when the first
    sentence asks, or none does."""
    sentences = list(doc.sents)  # type: ignore[attr-defined]
    # A sentence asks when it ends with a question mark or opens with a question word ("Which
    # company ran it", "At which company ..."); a "who" inside a relative clause asks nothing.
    asks = [
        s.text.rstrip().endswith("?") or any(t.tag_ in ("WDT", "WP", "WP$", "WRB") for t in s[:2]) for s in sentences
    ]
    if len(sentences) < 2 or asks[0] or not any(asks):
        return doc.text  # type: ignore[attr-defined,no-any-return]
    first = asks.index(True)
    order = [sentences[first], *sentences[:first], *sentences[first + 1 :]]
    return " ".join(s.text.strip() for s in order)


def leans_on_context(doc: object, named: bool, n_terms: int) -> bool:
    """A real follow-up: a pronoun whose thing the question never names before it ("What else did
    he say?", "What is its population?"), or an ellipsis with no subject at all ("Why?", "And then?").
    A pronoun after its own noun ("Which billionaire lost his spot?") points inside the question."""
    if named:
        return False
    seen_noun = False
    one_sentence = len(list(doc.sents)) == 1  # type: ignore[attr-defined]
    for t in doc:  # type: ignore[attr-defined]
        if t.pos_ in ("NOUN", "PROPN") and not t.is_stop:
            seen_noun = True
        elif t.lower_ in _PRONOUNS and not seen_noun:
            return True
        elif t.lower_ in _OBJECT_PRONOUNS and t.dep_ in ("pobj", "dobj") and one_sentence:
            return True  # "How many groups are in it?": the thing it stands for is not the groups
        elif (
            t.lower_ in ("this", "that", "these", "those") and t.pos_ == "PRON" and t.dep_ != "nsubj" and not seen_noun
        ):
            return True
    return not seen_noun and n_terms <= 1


def article_relations(doc: object) -> tuple[frozenset[str], frozenset[str]]:
    """(verbs, nouns) an article word of the question hangs off: "Who wrote the tram strike
    article?" -> ({"write"}, {}); "the author of the article" -> ({}, {"author"}); not a document
    the article is about ("who wrote the report that the article describes?": "describe")."""
    verbs: set[str] = set()
    nouns: set[str] = set()
    for t in doc:  # type: ignore[attr-defined]
        if t.lemma_.lower() not in _ARTICLE_LEMMAS:
            continue
        head = t.head
        if t.dep_ in ("dobj", "nsubj", "nsubjpass", "attr"):
            verbs.add(head.lemma_)
            if head.lemma_ == "be":
                # "When was the article about X published?": the small parser hangs the verb off the
                # article's phrase (acl) or off "was".
                verbs.update(c.lemma_ for c in (*head.children, *t.subtree))
        if t.dep_ == "pobj" and head.lower_ == "of":
            nouns.add(head.head.lemma_)
    return frozenset(verbs), frozenset(nouns)


def parse_query(question: str) -> Query:
    """The Query record of a question (spaCy runs on the question only)."""
    from index.nlp import parse

    doc = parse(question)
    kind, wh = answer_type(doc)
    terms = tuple(
        dict.fromkeys(
            stem(fold(t.lemma_ if t.pos_ != "PROPN" else t.text))
            for t in doc
            if t.pos_ in _CONTENT_POS
            and not t.is_stop
            and t.tag_ not in ("WDT", "WP", "WP$", "WRB")
            and t.is_alpha
            or t.like_num
        )
    )
    entities = [Entity(e.text, e.label_, e.start_char, e.end_char) for e in doc.ents]
    covered = {i for e in doc.ents for i in range(e.start, e.end)}
    # Proper nouns spaCy did not type (lower-case questions, unusual names) still name something.
    run: list = []
    for t in list(doc) + [None]:
        if t is not None and t.pos_ == "PROPN" and t.i not in covered and t.i > 0:
            run.append(t)
            continue
        if run:
            entities.append(Entity(doc[run[0].i : run[-1].i + 1].text, "", run[0].idx, run[-1].idx + len(run[-1])))
            run = []
    followup = leans_on_context(doc, bool(entities), len(terms))
    article_verbs, article_nouns = article_relations(doc)
    attributed = tuple(e.text for e in entities if _ACCORDING_TO.search(question[: e.start]))
    return Query(
        text=question,
        terms=terms,
        entities=tuple(entities),
        answer_type=kind,
        wh=wh,
        parts=tuple(question_parts(question)),
        comparative=bool(_COMPARATIVE.search(question)),
        followup=followup,
        asking_first=asking_first(doc),
        head=head_noun(doc),
        article_verbs=article_verbs,
        article_nouns=article_nouns,
        attributed=attributed,
    )
