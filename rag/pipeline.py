"""The answer pipeline: question -> retrieval -> evidence -> generation -> verified, cited answer."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import replace
from datetime import date

from index.chunk import split_sentences
from index.embed import CachingEmbedder, Embedder, make_embedder
from index.lexical import tokenize
from index.snapshot import Snapshot
from rag.abstain import decide
from rag.catalog import metadata_answer, named_articles, when, without_article_names
from rag.cite import Support, verify
from rag.conversation import Turn, question_parts, standalone_question
from rag.corroborate import (
    best_per_article,
    citation_for,
    compare,
    find_matches,
    is_comparative,
    quote,
    render_comparison,
    support_label,
)
from rag.errors import LLMUnavailableError
from rag.evidence import distinct, select_evidence, with_antecedent
from rag.guard import clean_question, is_redirect_attempt
from rag.llm import Generator, make_generator
from rag.namings import asks_spelling, name_forms, render_forms
from rag.prompt import answer_messages
from rag.retrieve import Retriever
from rag.settings import Settings
from rag.types import Answer, Article, ArticleSupport, Citation, Event, Evidence, Final, Hit, Token

N_SOURCES = 3  # evidence sentences shown to the generator
SUPPORT_DEPTH = 8  # passages searched for other articles that report a cited fact
QUOTE_MARGIN = 0.10  # a second quoted sentence must score within this of the best
RESTATE_SHARE = 0.5  # a generated claim with this share of a source's new words stands in for quoting it
ABSTAIN_TEXT = "The articles don't say. The closest passages are listed below."
REFUSE_TEXT = (
    "I can only answer questions about the articles in the archive, and the articles don't say anything about that."
)


class Pipeline:
    """Answers questions over the served index; models load on first use and are shared by all callers."""

    def __init__(
        self, settings: Settings, embedder: Embedder | None = None, generator: Generator | None = None
    ) -> None:
        self.settings = settings
        self._embedder = embedder
        self._sentence_embedder: CachingEmbedder | None = None
        self._generator = generator
        self._snapshot: Snapshot | None = None
        self._retriever: Retriever | None = None
        self._lock = threading.Lock()

    @property
    def embedder(self) -> Embedder:
        """The embedding model (created lazily)."""
        if self._embedder is None:
            self._embedder = make_embedder(self.settings)
        return self._embedder

    @property
    def sentence_embedder(self) -> CachingEmbedder:
        """The embedder with a cache, for evidence sentences that recur across questions."""
        if self._sentence_embedder is None:
            self._sentence_embedder = CachingEmbedder(self.embedder)
        return self._sentence_embedder

    @property
    def generator(self) -> Generator:
        """The answer generator (created lazily)."""
        if self._generator is None:
            self._generator = make_generator(self.settings)
        return self._generator

    def retriever(self) -> Retriever:
        """A retriever over the served generation, reopened when a build publishes a new one."""
        with self._lock:
            current = Snapshot.current_name(self.settings)
            if self._snapshot is None or self._retriever is None or current != self._snapshot.generation.name:
                snapshot = Snapshot.open(self.settings)
                if self._snapshot is not None:
                    self._snapshot.store.close()
                self._snapshot = snapshot
                self._retriever = Retriever(snapshot, self.embedder)
            return self._retriever

    def ask(
        self,
        question: str,
        history: Sequence[Turn] = (),
        *,
        top_k: int | None = None,
        mode: str | None = None,
        id: str | None = None,
        compare: bool = False,
    ) -> Answer:
        """The final answer (streaming consumed)."""
        for event in self.stream(question, history, top_k=top_k, mode=mode, id=id, compare=compare):
            if isinstance(event, Final):
                return event.answer
        raise AssertionError("stream ended without a final answer")  # pragma: no cover

    def stream(
        self,
        question: str,
        history: Sequence[Turn] = (),
        *,
        top_k: int | None = None,
        mode: str | None = None,
        id: str | None = None,
        compare: bool = False,
    ) -> Iterator[Event]:
        """Yield draft tokens as they are generated, then one Final with the verified answer."""
        t0 = time.perf_counter()
        text = clean_question(question, self.settings.max_question_chars)
        if is_redirect_attempt(text):
            yield Final(Answer(text, REFUSE_TEXT, True, (), (), _ms(t0), mode="refused", id=id))
            return
        standalone = standalone_question(text, list(history))
        retriever = self.retriever()
        meta = metadata_answer(standalone, retriever.snapshot.articles)
        if meta is not None and not compare:
            timings = _ms(t0)
            cites = tuple(metadata_citation(n, a) for n, a in enumerate(meta.articles, start=1))
            marked = meta.text + " " + " ".join(f"[{c.n}]" for c in cites)
            yield Final(
                Answer(text, marked, False, cites, (), timings, mode="metadata", id=id, standalone_question=standalone)
            )
            return
        k = top_k or self.settings.top_k
        articles = retriever.snapshot.articles
        scope = self.scope(standalone, articles)
        qvec = self.embedder.embed([standalone])[0]
        hits = retriever.search(standalone, k, mode or self.settings.retrieval, qvec, scope)
        comparative = is_comparative(standalone)
        if comparative and scope is None and not compare:
            hits = retriever.per_article(standalone, hits, k, mode or self.settings.retrieval, qvec)
        timings = {"retrieve": (time.perf_counter() - t0) * 1000}
        evidence = select_evidence(standalone, hits, self.sentence_embedder, qvec)
        timings["evidence"] = (time.perf_counter() - t0) * 1000 - timings["retrieve"]
        asked = without_article_names(standalone, articles)  # "the April 8 report" names no subject
        decision = decide(asked, evidence, hits, retriever.archive, not comparative)
        base = Answer(text, "", False, (), tuple(hits), timings, id=id, standalone_question=standalone)
        if compare:
            deep = retriever.search(standalone, max(k, 10), mode or self.settings.retrieval, qvec)
            yield Final(self._compare(standalone, deep, retriever, timings, t0, base))
            return
        forms = name_forms(asked, evidence) if asks_spelling(asked) and not decision.unknown else None
        if forms is not None:
            # "How do the two articles spell ...?": the sentences that write the name answer it,
            # even when they match the rest of the question too weakly to pass the abstention.
            answer_text, citations = render_forms(forms, articles)
            timings.update(generate=0.0, total=(time.perf_counter() - t0) * 1000)
            yield Final(replace(base, text=answer_text, citations=citations, mode="spelling"))
            return
        if decision.abstain:
            timings.update(generate=0.0, total=(time.perf_counter() - t0) * 1000)
            yield Final(replace(base, text=ABSTAIN_TEXT, abstained=True, mode="abstained"))
            return

        # Lead with the evidence every part of the question needs: the best sentence of each
        # article for a comparison, the best sentence for each part of a two-part question.
        parts = question_parts(standalone)
        if comparative:
            leads = best_per_article(evidence)
        elif len(parts) > 1:
            leads = [select_evidence(part, hits, self.sentence_embedder)[0] for part in parts]
        else:
            leads = evidence[:1]

        sources = pick_sources(leads + evidence)
        must_quote = len(pick_sources(leads))
        t1 = time.perf_counter()
        draft: list[str] = []
        notice = ""
        try:
            for piece in self.generator.stream(answer_messages(text, sources, articles), self.settings.llm_max_tokens):
                if not draft:
                    timings["first_token"] = (time.perf_counter() - t0) * 1000
                draft.append(piece)
                yield Token(piece)
        except LLMUnavailableError as exc:
            notice = f"{exc}; showing the best passages instead"
        timings["generate"] = (time.perf_counter() - t1) * 1000
        checked = verify("".join(draft), sources, self.sentence_embedder) if draft else []
        # Quotes that open with "The group ..." carry the sentence before; the model saw, and
        # corroboration checks, the evidence sentence itself.
        quoted = [with_antecedent(e, _body(articles, e)) for e in sources]
        answer_text, citations, mode = compose(checked, sources, articles, must_quote, standalone, quoted)
        claims = {c.n: src.text for c in citations for src, q in zip(sources, quoted) if _same_span(c, q)}
        support = self.corroborate(citations, retriever, claims)
        timings["total"] = (time.perf_counter() - t0) * 1000
        yield Final(replace(base, text=answer_text, citations=citations, notice=notice, mode=mode, support=support))

    @staticmethod
    def scope(question: str, articles: dict[str, Article]) -> frozenset[str] | None:
        """The articles a question is about when it names some of them by date ("according to the
        April 8 report"); None (the whole archive) otherwise, and for comparisons."""
        named = named_articles(question, articles, as_source=True)
        if not named or len(named) == len(articles) or is_comparative(question):
            return None
        return frozenset(a.doc_id for a in named)

    def corroborate(
        self, citations: tuple[Citation, ...], retriever: Retriever, claims: dict[int, str] | None = None
    ) -> tuple[ArticleSupport, ...]:
        """For each citation, the articles that report the same fact (checked, not string-matched).
        claims gives, by citation number, the fact to check when it is narrower than the quote."""
        articles = retriever.snapshot.articles
        out = []
        for c in citations:
            matches = []
            fact = (claims or {}).get(c.n, c.sentence)
            # A two-sentence citation is backed by an article that reports either sentence.
            for s, e in split_sentences(fact):
                claim = fact[s:e]
                hits = retriever.search(claim, SUPPORT_DEPTH, "hybrid")
                matches += find_matches(claim, c.doc_id, hits, self.sentence_embedder)
            same = list(dict.fromkeys([c.doc_id] + [m.doc_id for m in matches if m.kind == "same"]))
            conflicts = list(dict.fromkeys(m.doc_id for m in matches if m.kind == "conflict" and m.doc_id not in same))
            label = support_label(same, conflicts, articles, len(articles))
            out.append(ArticleSupport(c.n, fact, tuple(same), tuple(conflicts), label))
        return tuple(out)

    def _compare(
        self, question: str, hits: list[Hit], retriever: Retriever, timings: dict[str, float], t0: float, base: Answer
    ) -> Answer:
        articles = retriever.snapshot.articles
        comparison = compare(question, hits, self.sentence_embedder, articles)
        text, citations = render_comparison(comparison, articles)
        timings.update(generate=0.0, total=(time.perf_counter() - t0) * 1000)
        if not citations:
            return replace(base, text=ABSTAIN_TEXT, abstained=True, mode="abstained", comparison=comparison)
        return replace(base, text=text, citations=citations, mode="compare", comparison=comparison)


def pick_sources(evidence: list[Evidence], n: int = N_SOURCES) -> list[Evidence]:
    """The best evidence sentences, skipping near-identical repeats of one article's sentence."""
    return distinct(evidence, n)


def compose(
    checked: list[Support],
    sources: list[Evidence],
    articles: dict[str, Article],
    must_quote: int = 1,
    question: str = "",
    quoted: list[Evidence] | None = None,
) -> tuple[str, tuple[Citation, ...], str]:
    """The answer text from the verified generated sentences, plus quoted evidence: the first
    `must_quote` sources (and a close runner-up) unless a generated sentence already restates them.
    `quoted` (same order as sources) is what a source is quoted and cited as, when wider than the
    sentence the model saw and claims were checked against.

    Sources are renumbered 1..n in order of first use, so the markers match the citation list.
    """
    shown = quoted or sources
    numbering: dict[int, int] = {}

    def number(source: int) -> int:
        return numbering.setdefault(source, len(numbering) + 1)

    parts = []
    covered: set[int] = set()
    for s in checked:
        if s.supported and s.source is not None:
            claim = s.claim.text.rstrip()
            end = claim[-1] if claim[-1] in ".!?" else "."
            parts.append(f"{claim.rstrip('.!?')} [{number(s.source)}]{end}")
            if restates(claim, sources[s.source - 1].text, question):
                covered.add(s.source)
    mode = "generated" if parts else "extractive"
    best = sources[0].score
    quotes = list(range(1, must_quote + 1))
    if must_quote == 1:
        quotes += [i + 1 for i, e in enumerate(sources[1:], start=1) if e.score >= best - QUOTE_MARGIN][:1]
    for source in quotes:
        if source in covered:
            continue
        e = shown[source - 1]
        article = articles.get(e.passage.doc_id)
        label = f"The {human_date(article.date)} article" if article and article.date else "The article"
        parts.append(f"{label} reports: {quote(e.text)} [{number(source)}]")
    citations = [
        citation_for(shown[source - 1], n, articles)
        for source, n in sorted(numbering.items(), key=lambda item: item[1])
    ]
    return " ".join(parts), tuple(citations), mode


def restates(claim: str, sentence: str, question: str = "", share: float = RESTATE_SHARE) -> bool:
    """Whether a generated claim carries most of what a source sentence adds to the question
    (its content words the question does not use), so quoting the sentence as well would only
    repeat it. A claim that merely echoes the question never stands in for the source."""
    words = set(tokenize(sentence)) - set(tokenize(question))
    return bool(words) and len(words & set(tokenize(claim))) / len(words) >= share


def metadata_citation(n: int, article: Article) -> Citation:
    """A citation of an article's metadata (headline and dateline), which lie outside its body."""
    lines = [f"Headline: {article.title}" if article.headline else "No headline", f"Dated: {when(article)}"]
    text = "\n".join(lines)
    return Citation(n, article.doc_id, article.title, article.date, text, text, 0, 0, 1.0)


def human_date(iso: str) -> str:
    """2025-04-07 -> April 7, 2025 (unparseable dates are returned as they are)."""
    try:
        d = date.fromisoformat(iso)
    except ValueError:
        return iso
    return f"{d:%B} {d.day}, {d.year}"


def _body(articles: dict[str, Article], e: Evidence) -> str | None:
    article = articles.get(e.passage.doc_id)
    return article.body if article else None


def _same_span(c: Citation, e: Evidence) -> bool:
    return c.doc_id == e.passage.doc_id and c.start == e.start and c.end == e.end


def _ms(t0: float) -> dict[str, float]:
    return {"retrieve": 0.0, "generate": 0.0, "total": (time.perf_counter() - t0) * 1000}
