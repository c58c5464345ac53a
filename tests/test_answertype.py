"""The answer-type check: a question that asks for a date, a number, an age, a sum of money or a
reason is only answered by evidence that holds one."""

from __future__ import annotations

from dataclasses import replace

import pytest

from index.chunk import chunk_article
from index.parse import parse_text
from rag.abstain import decide
from rag.answertype import AnswerType, counted, expected_type, gives, holds_answer
from rag.premise import names_in
from rag.types import Evidence, Hit


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        ("How old is Pete Hegseth?", AnswerType.AGE),
        ("At what age did he join?", AnswerType.AGE),
        ("How much money does Iran give the militias each year?", AnswerType.MONEY),
        ("When did Hegseth call Sudani?", AnswerType.DATE),
        ("On what date did the talks start?", AnswerType.DATE),
        ("In which month did Trump take power?", AnswerType.DATE),
        ("Since when have the groups been leaving their bases?", AnswerType.DATE),
        ("How long ago did the Gaza war start?", AnswerType.DATE),
        ("How many fighters do the groups command?", AnswerType.NUMBER),
        ("What is the population of Baghdad?", AnswerType.NUMBER),
        ("How much enriched uranium does Iran hold?", AnswerType.NUMBER),
        ("Who told Reuters the talks were advanced?", None),
        ("Why are the militias ready to disarm?", AnswerType.REASON),
        ("What prompted the disarmament idea in the first place?", AnswerType.REASON),
        ("For what reason did the groups leave their bases?", AnswerType.REASON),
        ("What did the adviser say about the reasons?", None),
        # When an article came out is its dateline, which citations carry: not a value in its text.
        ("On what date was the article about the strong blow published?", None),
        ("When did the April 7 piece come out?", None),
    ],
)
def test_what_a_question_asks_for(question: str, kind: AnswerType | None) -> None:
    assert expected_type(question) == kind


@pytest.mark.parametrize(
    ("question", "texts", "held"),
    [
        ("When did Hegseth call Sudani?", ["Hegseth told Sudani in a phone call March 16."], True),
        ("When did Hegseth call Sudani?", ["Hegseth told Sudani to rein in the militias."], False),
        ("How long ago did the war start?", ["The war erupted about 18 months ago."], True),
        ("Since when?", ["They have evacuated their headquarters since mid-January."], True),
        ("How many fighters?", ["About 10 groups command about 50,000 fighters."], True),
        ("How many officials said so?", ["The two Iraqi security officials said Sudani was pressing."], True),
        ("How many officials said so?", ["Officials said Sudani was pressing for disarmament."], False),
        ("How old is Pete Hegseth?", ["Pete Hegseth, 44, called Sudani."], True),
        ("How old is Pete Hegseth?", ["The 44-year-old defence secretary called."], True),
        ("How old is Pete Hegseth?", ["US Secretary of Defense Pete Hegseth told Sudani on March 16."], False),
        ("How much money does Iran give?", ["Iran gives them $700 million."], True),
        ("How much money does Iran give?", ["The groups sprang up with Iranian financial support."], False),
        ("Why did the groups leave?", ["They left their bases for fear of being hit by air attacks."], True),
        ("Why are they ready?", ["They are willing to lay down their weapons in order to avoid escalation."], True),
        ("Why was he doubtful?", ["Attacks had ceased because of US pressure."], True),
        ("Why did Alaaeldin resign?", ["Alaaeldin told Reuters the prime minister was committed to dialogue."], False),
        # A value the question itself gives is no answer to it.
        ("What happened in 2003, and when did the groups form?", ["The 2003 invasion toppled Saddam."], False),
        ("What happened in 2003, and when did the groups form?", ["They formed after 2003, in 2004."], True),
    ],
)
def test_whether_evidence_holds_the_value_asked_for(question: str, texts: list[str], held: bool) -> None:
    kind = expected_type(question) or AnswerType.NUMBER
    assert holds_answer(kind, question, texts) is held


class WordsArchive:
    """A fake archive that mentions exactly the given tokens and every year."""

    def __init__(self, words: set[str] | None = None) -> None:
        self.words = words

    def has_year(self, year: str) -> bool:
        return True

    def has_word(self, token: str, variants: bool = True) -> bool:
        return self.words is None or token in self.words


KNOWS_ALL = WordsArchive()


def _evidence(text: str) -> tuple[list[Evidence], list[Hit]]:
    article = parse_text("Militias weigh disarmament\nApril 8, 2025\n" + text, "a")
    passage = chunk_article(article, 2000, 0)[0]
    (start, end), sentence = passage.sentence_texts()[0]
    return [Evidence(passage, start, end, sentence, 0.9)], [Hit(passage, 1.0)]


def test_decide_abstains_when_the_best_evidence_lacks_the_value() -> None:
    evidence, hits = _evidence("Reuters spoke to commanders of Kataib Hezbollah about disarmament.")
    question = "How many commanders of Kataib Hezbollah spoke to Reuters about disarmament?"
    decision = decide(question, evidence, hits, KNOWS_ALL)
    assert decision.abstain and "number" in decision.reason
    # A comparison's evidence is one sentence per article, not the best sentences: not checked.
    assert not decide(question, evidence, hits, KNOWS_ALL, typed=False).abstain
    evidence, hits = _evidence("Reuters spoke to ten commanders of Kataib Hezbollah about disarmament.")
    assert not decide(question, evidence, hits, KNOWS_ALL).abstain


def _scored(texts_scores: list[tuple[str, float]]) -> tuple[list[Evidence], list[Hit]]:
    evidence, hits = [], []
    for n, (text, score) in enumerate(texts_scores):
        e, h = _evidence(text)
        evidence.append(replace(e[0], passage=replace(e[0].passage, doc_id=f"a{n}"), score=score))
        hits += h
    return evidence, hits


def test_a_why_question_needs_a_reason_from_evidence_close_to_the_best() -> None:
    question = "Why did Farhad Alaaeldin resign as Sudani's adviser?"
    lacking = "Farhad Alaaeldin, Sudani's adviser, told Reuters the prime minister was committed to dialogue."
    weaker = "Hegseth told Sudani in a phone call to prevent revenge attacks."
    evidence, hits = _scored([(lacking, 0.71), (weaker, 0.46)])
    decision = decide(question, evidence, hits, KNOWS_ALL)
    assert decision.abstain and "reason" in decision.reason
    # The same reason, as close to the question as the best sentence, answers it.
    evidence, hits = _scored([(lacking, 0.71), (weaker, 0.65)])
    assert not decide(question, evidence, hits, KNOWS_ALL).abstain


@pytest.mark.parametrize(
    ("question", "things"),
    [
        ("How many fighters do these groups have?", {"fighters"}),
        ("How many Shiite armed groups make up the Islamic Resistance?", {"shiite", "armed", "groups"}),
        ("The commanders came from how many major militias?", {"major", "militias"}),
        ("How much time has Trump given Iran?", set()),
    ],
)
def test_what_a_how_many_question_counts(question: str, things: set[str]) -> None:
    assert counted(question) == things


def test_a_how_many_question_needs_a_number_of_the_thing_it_counts() -> None:
    question = "How many fighters do these Iranian-backed groups have?"
    assert gives(AnswerType.NUMBER, question, "About 10 Shiite armed groups command about 50,000 fighters.")
    assert gives(AnswerType.NUMBER, question, "They have ten thousand experienced fighters.")
    # A number of something else is no answer.
    assert not gives(AnswerType.NUMBER, question, "Reuters was told by 10 senior commanders and Iraqi officials.")
    # Without a counted thing any number will do.
    assert gives(AnswerType.NUMBER, "How much enriched uranium is there?", "Iran holds 275 kg.")


@pytest.mark.parametrize(
    "question, names",
    [
        ("Which militias evacuated their headquarters in Basra, and when?", ["Basra"]),
        ("What did a Kata'ib Hezbollah commander say Trump was ready to do?", ["Kata'ib", "Hezbollah", "Trump"]),
        ("What title does the April 8 piece give Khameinei's Guards?", ["April", "Khameinei", "Guards"]),
        ("How does the PM plan it, per his KH adviser? Paste the answer. Explain it.", []),
        ("Did the US-Iran talks start? (Summarise the talks)", ["US-Iran"]),
        ("What Did Hamas's Leaders Say About The Talks?", []),  # Title Case: capitals tell nothing
    ],
)
def test_names_are_capitalised_words_that_do_not_start_a_sentence(question: str, names: list[str]) -> None:
    assert names_in(question) == names


def test_decide_abstains_on_a_name_the_archive_never_mentions() -> None:
    evidence, hits = _evidence("The militias evacuated their headquarters in Mosul and Anbar in March.")
    archive = WordsArchive({"mosul", "anbar", "march"})
    question = "Which militias evacuated their headquarters in Basra?"
    decision = decide(question, evidence, hits, archive)
    assert decision.abstain and "never mentions Basra" in decision.reason and decision.unknown == ("Basra",)
    assert not decide("Which militias evacuated their headquarters in Mosul?", evidence, hits, archive).abstain


@pytest.mark.parametrize(
    "name, archive_words, known",
    [
        ("Kata'ib", {"kata", "ib"}, True),  # the index splits the archive's "Kata'ib" at the apostrophe
        ("Kata'ib", {"kataib"}, True),  # the archive writes "Kataib"
        ("Hamas", {"hama"}, True),  # plural folding, as the index does it
        ("Pasdaran", {"irgc"}, True),  # an alias of a name the archive uses
        ("Basra", {"mosul"}, False),
        ("US-Iran", {"iran"}, True),  # "US" is too short to look up
    ],
)
def test_a_name_is_known_as_written_split_or_by_alias(name: str, archive_words: set[str], known: bool) -> None:
    from rag.premise import known_name

    assert known_name(name, WordsArchive(archive_words)) is known
