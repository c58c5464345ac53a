"""The web app's handlers, driven directly (no server) with the fake embedder and a scripted LLM."""

from __future__ import annotations

from html import escape
from pathlib import Path

import pytest

from index.build import build_index
from index.embed import make_embedder
from rag.errors import LLMUnavailableError
from rag.llm import FakeGenerator
from rag.pipeline import Pipeline
from rag.settings import Settings
from rag.types import Answer, Article, Citation
from ui import render
from ui.building import BuildStatus
from ui.chat import Chat, ChatOptions, Conversation
from ui.documents import Documents
from ui.pipelines import Pipelines

FIGHTERS = "How many fighters does the Islamic Resistance in Iraq command?"
REPLY = "The Islamic Resistance in Iraq commands about 50,000 fighters."
OFF_TOPIC = ("What is the population of Baghdad?", "Who won the 1998 football World Cup final?")


@pytest.fixture
def generator() -> FakeGenerator:
    return FakeGenerator(default=REPLY)


@pytest.fixture
def pipelines(settings: Settings, generator: FakeGenerator) -> Pipelines:
    build_index(settings, make_embedder(settings))
    return Pipelines(settings, lambda s: Pipeline(s, generator=generator))


@pytest.fixture
def chat(pipelines: Pipelines) -> Chat:
    return Chat(pipelines)


def final(chat: Chat, question: str, conv: Conversation | None = None) -> Conversation:
    *_, last = chat.respond(question, conv)
    return last


def off_topic_question(pipelines: Pipelines) -> str:
    """A question the pipeline abstains on (which one depends on the fake embedder's ranking)."""
    for question in OFF_TOPIC:
        if pipelines.get().ask(question).abstained:
            return question
    pytest.fail(f"none of {OFF_TOPIC} abstains")


def test_streamed_answer_ends_with_cards_whose_sentence_matches_the_citation(chat: Chat) -> None:
    steps = [conv.messages[-1]["content"] for conv in chat.respond(FIGHTERS, None)]
    assert len(steps) >= 3 and all("rag-draft" in s for s in steps[:-1])
    assert any("50,000" in s for s in steps[:-1]), "draft tokens are shown as they arrive"
    html = steps[-1]
    assert "rag-draft" not in html and "rag-abstain" not in html
    conv = final(chat, FIGHTERS)
    answer = conv.answers[-1]
    assert answer.citations and conv.messages[0] == {"role": "user", "content": render.question_html(FIGHTERS)}
    articles = chat.articles()
    for c in answer.citations:
        assert articles[c.doc_id].body[c.start : c.end] == c.sentence
        assert f"<mark>{escape(c.sentence)}</mark>" in html
        assert f'<span class="rag-card-n">[{c.n}]</span>' in html and f">[{c.n}]</sup>" in html
    assert any("50,000 fighters" in c.sentence for c in answer.citations)


def test_open_source_shows_the_whole_article_with_the_sentence_highlighted(chat: Chat) -> None:
    conv = final(chat, FIGHTERS)
    choices = chat.sources(conv)
    label, key = choices[0]
    c = conv.answers[0].citations[0]
    assert label.startswith("Q1 [1]") and c.title[:20] in label
    html = chat.open_source(key, conv)
    assert f"<mark>{escape(c.sentence)}</mark>" in html and 'class="rag-article"' in html
    assert escape(chat.articles()[c.doc_id].title) in html
    assert "rag-error" not in chat.open_source(None, conv)
    assert "not part of this chat" in chat.open_source("7:c:1", conv)


def test_follow_up_questions_use_the_conversation(chat: Chat) -> None:
    conv = final(chat, FIGHTERS)
    conv = final(chat, "How many groups are in it?", conv)
    assert len(conv.answers) == 2 and len(conv.messages) == 4
    assert "Islamic Resistance" in conv.answers[1].standalone_question


def test_abstention_looks_different_and_offers_the_closest_passages(chat: Chat, pipelines: Pipelines) -> None:
    conv = final(chat, off_topic_question(pipelines))
    answer = conv.answers[-1]
    html = conv.messages[-1]["content"]
    assert answer.abstained and "The articles don" in answer.text
    assert "rag-abstain" in html and "Closest passages" in html and "rag-ref" not in html
    assert escape(answer.contexts[0].passage.text) in html
    assert chat.sources(conv)[0][0].startswith("Q1 passage 1")
    assert "<mark>" in chat.open_source(chat.sources(conv)[0][1], conv)


def test_empty_question_gives_a_message_and_the_chat_keeps_working(chat: Chat) -> None:
    conv = final(chat, "   ")
    html = conv.messages[-1]["content"]
    assert "rag-error" in html and "empty" in html and "Traceback" not in html
    assert conv.answers == [] and len(conv.messages) == 1
    conv = final(chat, FIGHTERS, conv)
    assert conv.answers and "rag-card" in conv.messages[-1]["content"]


def test_unreachable_llm_sets_a_notice_and_still_shows_passages(chat: Chat, generator: FakeGenerator) -> None:
    generator.error = LLMUnavailableError("LLM server http://127.0.0.1:9 is unreachable or failed (ConnectError)")
    conv = final(chat, FIGHTERS)
    html = conv.messages[-1]["content"]
    assert conv.answers[-1].notice and "rag-notice" in html and "unreachable" in html
    assert "rag-card" in html and "<mark>" in html


def test_question_while_the_first_build_runs_says_so(settings: Settings) -> None:
    status = BuildStatus()
    status.begin()
    status.progress(3, 16)
    chat = Chat(Pipelines(settings), status)
    html = final(chat, FIGHTERS).messages[-1]["content"]
    assert "being built (3/16 passages embedded)" in html
    status.end()
    assert "no index" in final(Chat(Pipelines(settings)), FIGHTERS).messages[-1]["content"].lower()


def test_settings_panel_options_reach_the_pipeline(chat: Chat, pipelines: Pipelines) -> None:
    conv = final(chat, FIGHTERS)
    default_contexts = len(conv.answers[-1].contexts)
    *_, conv = chat.respond(FIGHTERS, None, ChatOptions(llm="fake", top_k=2, retrieval="bm25"))
    assert len(conv.answers[-1].contexts) <= 2 < default_contexts
    *_, conv = chat.respond(FIGHTERS, None, ChatOptions(llm="nonsense"))
    assert "rag-error" in conv.messages[-1]["content"] and "llm must be" in conv.messages[-1]["content"]


def test_one_pipeline_per_backend_and_one_embedder(settings: Settings) -> None:
    pipelines = Pipelines(settings)
    fake = pipelines.get("fake")
    assert pipelines.get() is fake and pipelines.get("fake", "http://ignored", "x") is fake
    ollama = pipelines.get("ollama", "http://127.0.0.1:9", "m")
    assert ollama is not fake and pipelines.get("ollama", "http://127.0.0.1:9", "m") is ollama
    assert pipelines.get("ollama", "http://127.0.0.1:9", "other") is not ollama
    assert ollama.embedder is fake.embedder is pipelines.embedder and pipelines.created == 3


def test_script_in_an_uploaded_document_is_shown_as_text(pipelines: Pipelines, tmp_path: Path) -> None:
    docs = Documents(pipelines)
    evil = tmp_path / "upload" / "evil.txt"
    evil.parent.mkdir()
    evil.write_text(
        'Basra port statement\n\nThe port of Basra reopened on Monday, a statement said <script>alert("x")</script>.'
    )
    message = docs.add([str(evil)])
    assert "Added evil.txt" in message and "3 articles" in message
    assert ["evil", "", "", "Basra port statement", "uploaded"] in docs.rows()
    html = docs.view("evil")
    assert "<script>" not in html and "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in html
    conv = final(Chat(pipelines), "When did the port of Basra reopen?")
    assert any(c.doc_id == "evil" for c in conv.answers[-1].citations)
    assert "<script>" not in conv.messages[-1]["content"] and "&lt;script&gt;" in conv.messages[-1]["content"]
    key = next(k for label, k in Chat(pipelines).sources(conv) if "Basra" in label)
    assert "<script>" not in Chat(pipelines).open_source(key, conv)


def test_binary_oversized_and_wrong_type_uploads_are_refused(
    settings: Settings, pipelines: Pipelines, tmp_path: Path
) -> None:
    folder = tmp_path / "upload"
    folder.mkdir()
    (folder / "blob.txt").write_bytes(b"\x00\x01\x02binary")
    (folder / "big.txt").write_text("The Basra port reopened. " * 400)
    (folder / "notes.pdf").write_bytes(b"%PDF-1.4 hello")
    (folder / "page.docx").write_text("<p>The Basra port reopened.</p>")
    row = '{"title": "Port news", "text": "The Basra port reopened."}\n'
    (folder / "rows.jsonl").write_text(row * 60)  # 3,540 bytes: over the export limit below
    small = Pipelines(settings.replace(max_file_bytes=2000, max_export_bytes=3000), lambda s: pipelines.get())
    message = Documents(small).add([str(p) for p in sorted(folder.iterdir())])
    assert "Refused blob.txt: binary" in message
    assert "Refused big.txt: 10,000 bytes is over the 2,000-byte limit" in message
    assert "Refused rows.jsonl: 3,540 bytes is over the 3,000-byte limit" in message
    assert "Refused notes.pdf: unsupported type .pdf" in message and "Refused page.docx: unsupported type" in message
    assert "rag-status-error" in message and "Added" not in message
    assert not settings.docs_dir.exists() or not any(settings.docs_dir.iterdir())
    assert "Choose one or more" in Documents(small).add(None)


def test_a_folder_indexed_in_place_is_never_written_by_the_panel(settings: Settings, tmp_path: Path) -> None:
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "dam.txt").write_text("Dam inspected\nMay 1, 2024\nEngineers found no cracks in the dam.")
    upload = tmp_path / "up.txt"
    upload.write_text("Bridge reopens\nJune 1, 2024\nThe bridge reopened.")
    docs = Documents(Pipelines(settings.replace(documents=mine)))
    assert "indexed in place" in docs.add([str(upload)]) and "indexed in place" in docs.remove("dam")
    assert sorted(p.name for p in mine.iterdir()) == ["dam.txt"]


def test_remove_an_added_document(pipelines: Pipelines, tmp_path: Path) -> None:
    docs = Documents(pipelines)
    note = tmp_path / "basra.md"
    note.write_text("# Basra port reopens\n\nThe Basra port reopened on Monday after repairs.")
    docs.add([str(note)])
    assert docs.uploaded_ids() == ["basra"]
    message = docs.remove("basra")
    assert "Removed basra.md" in message and "2 articles" in message
    assert docs.uploaded_ids() == [] and "basra" not in [row[0] for row in docs.rows()]
    refused = docs.remove("000_f719a2aea238f342")
    assert "rag-status-error" in refused and "seed articles stay" in refused
    assert "Choose" in docs.remove(None)


def test_rendering_escapes_every_piece_of_text() -> None:
    article = Article("x", "<b>Title</b>", "2025-04-07", None, "Intro. <img src=x onerror=alert(1)> is here. End.", "h")
    start = article.body.index("<img")
    end = article.body.index(" End.")
    html = render.article_html(article, (start, end), (0, len(article.body)))
    assert "<img" not in html and "<b>Title" not in html
    assert "<mark>&lt;img src=x onerror=alert(1)&gt; is here.</mark>" in html
    citation = Citation(
        1, "x", "<i>t</i>", None, article.body, article.body[start:end], start, end, 0.9, 0, len(article.body)
    )
    answer = Answer("<q>", "It <u>is</u> here [1].", False, (citation,), ())
    html = render.answer_html(answer)
    assert "<u>" not in html and "<i>t</i>" not in html and "&lt;u&gt;is&lt;/u&gt;" in html
    assert "<mark>&lt;img src=x onerror=alert(1)&gt; is here.</mark>" in html and "undated" in html
    assert "<q>" not in render.question_html("<q>") and "<x>" not in render.draft_html("<x>")
    assert "<x>" not in render.error_html("<x>")


def test_compare_option_answers_side_by_side(chat: Chat) -> None:
    *_, last = chat.respond("What did the Kataib Hezbollah commander say about Trump?", None, ChatOptions(compare=True))
    answer = last.answers[-1]
    assert answer.comparison is not None and answer.mode in ("compare", "abstained")
    if answer.mode == "compare":
        assert "2025:" in last.messages[-1]["content"]  # each side named by its article


def test_cards_show_which_articles_report_the_fact() -> None:
    from rag.types import ArticleSupport

    c = Citation(1, "a", "<b>T</b>", "2025-04-07", "Some sentence.", "Some sentence.", 0, 14, 0.9, 0, 14)
    support = ArticleSupport(1, "Some sentence.", ("a", "b"), (), "reported by both articles")
    html = render.answer_html(Answer("q", "Some sentence [1].", False, (c,), (), support=(support,)))
    assert "rag-support-both" in html and "reported by both articles" in html
    assert "<b>T</b>" not in html and escape("<b>T</b>") in html
