"""Chat handlers: plain generators and functions over our records, driven by Gradio or by tests."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

from rag.conversation import Turn
from rag.errors import IndexMissingError, RagError
from rag.types import Answer, Article, Final, Token
from ui import render
from ui.building import BuildStatus
from ui.pipelines import Pipelines

log = logging.getLogger(__name__)

GENERIC_EXAMPLES = (
    "What do the most recent articles report?",
    "Which articles mention the same event, and do they agree?",
)


def examples(articles: dict[str, Article], n: int = 3) -> list[str]:
    """Example questions drawn from the archive itself: what its newest articles report."""
    dated = sorted((a for a in articles.values() if a.headline), key=lambda a: (a.date or "", a.time or ""))
    picked = [f"What does the article “{a.title}” report?" for a in reversed(dated[-n:])]
    return picked or list(GENERIC_EXAMPLES)


@dataclass
class Conversation:
    """One browser session's chat: the messages shown and the answers behind them."""

    messages: list[dict[str, str]] = field(default_factory=list)
    answers: list[Answer] = field(default_factory=list)

    def history(self) -> list[Turn]:
        """Earlier exchanges, for follow-up questions."""
        return [Turn(a.question, a.text) for a in self.answers]


@dataclass(frozen=True)
class ChatOptions:
    """The settings panel: generator backend, passages retrieved, retrieval mode (None = server default)."""

    llm: str | None = None
    llm_url: str | None = None
    llm_model: str | None = None
    top_k: int | None = None
    retrieval: str | None = None
    compare: bool = False  # answer from each article side by side


def one_line(exc: BaseException) -> str:
    """A library error as one short sentence for a person."""
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


class Chat:
    """Answers questions for the chat panel, streaming drafts and then the verified answer."""

    def __init__(self, pipelines: Pipelines, status: BuildStatus | None = None) -> None:
        self.pipelines = pipelines
        self.status = BuildStatus() if status is None else status

    def respond(
        self, question: str, conversation: Conversation | None, options: ChatOptions | None = None
    ) -> Iterator[Conversation]:
        """Yield the conversation after each draft token, then with the final answer or a one-line error."""
        conv = Conversation(list(conversation.messages), list(conversation.answers)) if conversation else Conversation()
        question = question if isinstance(question, str) else ""
        if question.strip():
            conv.messages.append({"role": "user", "content": render.question_html(question)})
        conv.messages.append({"role": "assistant", "content": render.draft_html("")})
        yield conv
        options = options or ChatOptions()
        try:
            pipeline = self.pipelines.get(options.llm, options.llm_url, options.llm_model)
            draft: list[str] = []
            events = pipeline.stream(
                question, conv.history(), top_k=options.top_k, mode=options.retrieval or None, compare=options.compare
            )
            for event in events:
                if isinstance(event, Token):
                    draft.append(event.text)
                    conv.messages[-1] = {"role": "assistant", "content": render.draft_html("".join(draft))}
                    yield conv
                elif isinstance(event, Final):
                    conv.answers.append(event.answer)
                    articles = pipeline.retriever().snapshot.articles
                    conv.messages[-1] = {"role": "assistant", "content": render.answer_html(event.answer, articles)}
                    yield conv
        except RagError as exc:
            building = self.status.message() if isinstance(exc, IndexMissingError) else ""
            conv.messages[-1] = {"role": "assistant", "content": render.error_html(building or one_line(exc))}
            yield conv
        except Exception as exc:  # a person never sees a traceback; the operator's terminal does
            log.exception("answering %r failed", question)
            message = f"Something went wrong ({type(exc).__name__}); please try again."
            conv.messages[-1] = {"role": "assistant", "content": render.error_html(message)}
            yield conv

    def sources(self, conversation: Conversation | None) -> list[tuple[str, str]]:
        """(label, key) for every source card and offered passage of the chat, latest question first."""
        choices: list[tuple[str, str]] = []
        answers = conversation.answers if conversation else []
        try:
            titles = {doc_id: a.title for doc_id, a in self.articles().items()} if answers else {}
        except RagError:
            titles = {}
        for turn in range(len(answers) - 1, -1, -1):
            answer = answers[turn]
            for c in answer.citations:
                choices.append((f"Q{turn + 1} [{c.n}] {c.title} ({c.date or 'undated'})", f"{turn}:c:{c.n}"))
            if not answer.citations:
                for i, hit in enumerate(answer.contexts[: render.CONTEXTS_SHOWN], start=1):
                    title = titles.get(hit.passage.doc_id, hit.passage.doc_id)
                    choices.append((f"Q{turn + 1} passage {i}: {title}", f"{turn}:p:{i}"))
        return choices

    def open_source(self, key: str | None, conversation: Conversation | None) -> str:
        """The whole article behind a source card, its supporting sentence highlighted."""
        if not key or conversation is None:
            return render.message_html("Choose a source of this chat to read the whole article.")
        try:
            turn, kind, number = key.split(":")
            answer = conversation.answers[int(turn)]
            articles = self.articles()
            if kind == "c":
                c = next(c for c in answer.citations if c.n == int(number))
                article = articles.get(c.doc_id)
                if article is None:
                    return render.message_html("That article is no longer in the archive.", "error")
                return render.article_html(article, (c.start, c.end), (c.passage_start, c.passage_end))
            passage = answer.contexts[int(number) - 1].passage
            article = articles.get(passage.doc_id)
            if article is None:
                return render.message_html("That article is no longer in the archive.", "error")
            return render.article_html(article, passage=(passage.start, passage.end))
        except RagError as exc:
            return render.message_html(one_line(exc), "error")
        except (ValueError, IndexError, StopIteration):
            return render.message_html("That source is not part of this chat any more.", "error")

    def articles(self) -> Mapping[str, Article]:
        """The articles of the served index."""
        return self.pipelines.get().retriever().snapshot.articles
