"""What a question takes as given: the things it names must be where the articles put them.

"Why did the militias kill three US soldiers in Syria?" retrieves the passage about the attack,
which says Jordan; "What did Khamenei tell Sudani ...?" names two people no passage mentions
together. Both are questions the articles do not answer, however well their words match.
"""

from __future__ import annotations

import pytest

from index.chunk import chunk_article
from index.parse import parse_text
from rag.abstain import decide
from rag.premise import Named, absent_names, conditional_only, name_runs
from rag.types import Evidence, Hit


class WordsArchive:
    """A fake archive that mentions exactly the given tokens (as `tokenize` writes them)."""

    def __init__(self, words: set[str]) -> None:
        self.words = words

    def has_year(self, year: str) -> bool:
        return True

    def has_word(self, token: str, variants: bool = True) -> bool:
        return token in self.words


ARCHIVE = WordsArchive(
    {
        "syria", "syrian", "jordan", "mosul", "january", "khamenei", "khameinei", "sudani", "iraq", "iraqi",
        "iran", "iranian", "hegseth", "pete", "islamic", "resistance", "washington", "us", "baghdad", "reuters",
        "kataib", "hezbollah", "alaaeldin", "trump", "american",
    }
)  # fmt: skip


class KnowsAll:
    def has_year(self, year: str) -> bool:
        return True

    def has_word(self, token: str, variants: bool = True) -> bool:
        return True


KNOWS_ALL = KnowsAll()


def _hits(*texts: str) -> tuple[list[Evidence], list[Hit]]:
    evidence, hits = [], []
    for n, text in enumerate(texts):
        article = parse_text(f"Militias weigh disarmament\nApril 8, 2025\n{text}", f"a{n}")
        passage = chunk_article(article, 2000, 0)[0]
        (start, end), sentence = passage.sentence_texts()[0]
        evidence.append(Evidence(passage, start, end, sentence, 0.9 - n / 10))
        hits.append(Hit(passage, 1.0 - n / 10))
    return evidence, hits


@pytest.mark.parametrize(
    "question, runs",
    [
        (
            "What did Prime Minister Sudani say about the Islamic Resistance in Iraq?",
            [(("Prime", "Minister", "Sudani"), False), (("Islamic", "Resistance"), False), (("Iraq",), True)],
        ),
        ("How many died in the airstrikes on Mosul in January?", [(("Mosul",), True), (("January",), True)]),
        ("What's the date on the article that calls Iran's Guards the Pasdaran?", [(("Iran", "Guards"), False), (("Pasdaran",), False)]),
    ],
)  # fmt: skip
def test_names_are_grouped_as_written_and_settings_follow_a_preposition(
    question: str, runs: list[tuple[tuple[str, ...], bool]]
) -> None:
    assert [(n.words, n.setting) for n in name_runs(question)] == runs


def test_a_demonym_before_a_common_noun_describes_rather_than_names() -> None:
    runs = name_runs("What day did Pete Hegseth phone the Iraqi prime minister?", ARCHIVE)
    assert [n.words for n in runs if n.adjective] == [("Iraqi",)]
    # A name ending like a demonym is still a name: "Sudani" is not Sudan + i in this archive.
    runs = name_runs("What did Khamenei tell Sudani about it?", ARCHIVE)
    assert not any(n.adjective for n in runs)
    assert name_runs("Why did Iraqi officials talk?", None) == [Named(("Iraqi",), False, "Iraqi", False, 8, 13)]


def test_a_name_the_best_passages_lack_is_a_false_premise() -> None:
    attack = "The militias killed three US soldiers in a drone operation in Jordan near the border last year."
    evidence, hits = _hits(attack)
    question = "Why did the militias kill three US soldiers in Syria?"
    assert absent_names(question, hits, ARCHIVE) == ["Syria"]
    decision = decide(question, evidence, hits, ARCHIVE)
    assert decision.abstain and "never mention Syria" in decision.reason
    assert not absent_names("Why did the militias kill three US soldiers in Jordan?", hits, ARCHIVE)


@pytest.mark.parametrize(
    "question, text",
    [
        # Any word of a name written as several: "the Resistance group".
        ("What attacks has the Islamic Resistance claimed?", "The Resistance group has claimed dozens of attacks."),
        # A capital for its country.
        ("What did Washington tell the militias?", "The US told the militias to disband."),
        # A demonym for its country, and a one-letter spelling variant.
        ("What did Iraqi officials say?", "Officials in Iraq said so."),
        ("What did Khamenei say?", "Supreme Leader Ali Khameinei said Tehran would strike."),
    ],
)
def test_a_name_is_there_by_any_of_its_words_its_country_or_a_variant(question: str, text: str) -> None:
    _, hits = _hits(text)
    assert absent_names(question, hits, ARCHIVE) == []


def test_things_named_together_must_be_mentioned_together() -> None:
    question = "What did Khamenei tell Sudani during his visit?"
    evidence, hits = _hits(
        "Supreme Leader Ali Khameinei claimed that Tehran would strike a strong blow.",
        "Sudani was pressing for disarmament by all the militias.",
    )
    decision = decide(question, evidence, hits, ARCHIVE)
    assert decision.abstain and "together" in decision.reason
    # A comparison names things the articles say apart: not checked.
    assert "together" not in decide(question, evidence, hits, ARCHIVE, typed=False).reason
    evidence, hits = _hits("Hegseth told Prime Minister Sudani in a phone call March 16 to stop the attacks.")
    # "the Iraqi prime minister" describes Sudani: the passage need not say Iraq.
    assert not decide("What day did Pete Hegseth phone the Iraqi prime minister?", evidence, hits, ARCHIVE).abstain


def test_a_value_must_be_given_where_and_when_the_question_places_it() -> None:
    question = "How many militia fighters died in the US airstrikes on Mosul in January?"
    evidence, hits = _hits(
        "The groups command about 50,000 fighters across the country.",
        "Some groups have evacuated their headquarters in Mosul since mid-January.",
    )
    decision = decide(question, evidence, hits, ARCHIVE)
    assert decision.abstain and "number" in decision.reason
    evidence, hits = _hits("Airstrikes on Mosul in January killed 40 militia fighters.")
    assert not decide(question, evidence, hits, ARCHIVE).abstain


def test_a_fact_the_articles_state_only_as_a_condition_is_not_an_answer() -> None:
    question = "Which sanctions did the US lift to get direct nuclear talks with Iran going?"
    text = "Direct diplomacy would only be considered if the US lifted all sanctions on Iran, Aragchi added."
    assert sorted(conditional_only(question, text)) == ["iran", "lift", "sanction", "us"]
    evidence, hits = _hits(text)
    decision = decide(question, evidence, hits, KNOWS_ALL)
    assert decision.abstain and "only as a condition" in decision.reason
    # Stated as a fact, it answers.
    assert conditional_only(question, "The US lifted sanctions on Iran's oil exports.") == []
    # A question about the condition itself is answered by it.
    assert conditional_only("What would the US have to do for direct talks?", text) == []
    assert conditional_only("What did Aragchi say the US must do before direct talks?", text) == []


@pytest.mark.parametrize(
    "question",
    [
        "What did Hegseth and Sumaidaie say about the militias?",  # a list: each may be said apart
        "Who is Alaaeldin, and what did Hegseth tell Sudani?",  # two parts, each checked on its own
    ],
)
def test_names_listed_or_in_different_parts_need_not_be_mentioned_together(question: str) -> None:
    evidence, hits = _hits(
        "Farhad Alaaeldin, Sumaidaie's successor as adviser, told Reuters about it.",
        "Hegseth told Prime Minister Sudani in a phone call to stop the militias.",
    )
    assert "together" not in decide(question, evidence, hits, KNOWS_ALL).reason
