"""The answer pipeline: question -> parsed Query -> a router by answer mode -> one handler each
(refused, metadata, spelling, compare, answer). The answer handler retrieves passages, lets the
trained reader find the span that answers, decides abstention with the fitted model, and composes
a short answer with the quote that proves it, plus verified generated sentences."""

from __future__ import annotations

import contextlib
import functools
import re
import threading
import time
from collections import abc
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from index.chunk import split_sentences
from index.embed import CachingEmbedder, Embedder, make_embedder
from index.nlp import names_of
from index.snapshot import Snapshot
from index.text import fold, tokenize
from rag.abstain import Archive, Choice, features, known, load_model
from rag.answer_types import typed
from rag.catalog import (
    MetadataAnswer,
    article_name,
    metadata_answer,
    named_articles,
    named_outlet_forms,
    named_outlets,
    names_outlet,
    outlets,
    when,
    without_article_names,
)
from rag.cite import Support, verify
from rag.conversation import Turn, standalone_question
from rag.corroborate import citation_for, compare, find_matches, quote, render_comparison, support_label
from rag.errors import LLMUnavailableError, RagError
from rag.evidence import distinct, select_evidence, with_antecedent
from rag.guard import clean_question, is_redirect_attempt
from rag.llm import Generator, make_generator
from rag.prompt import answer_messages, before_echo, undecided
from rag.query import Query, parse_query
from rag.reader import Context, OnnxReader, Reader
from rag.retrieve import Retriever
from rag.settings import Settings
from rag.spans import Pick, load_spans, rank_spans
from rag.spellings import asks_spelling, render, writings
from rag.types import (
    Answer,
    Article,
    ArticleSupport,
    Citation,
    Event,
    Evidence,
    Final,
    Hit,
    Passage,
    ShortAnswer,
    Token,
)

N_SOURCES = 3  # evidence units shown to the generator
READ_DEPTH = 5  # passages the reader reads
SUPPORT_DEPTH = 8  # passages searched for other articles that report a cited fact
QUOTE_MARGIN = 0.10  # a second quoted sentence must score within this of the best
RESTATE_SHARE = 0.5  # a generated claim with this share of a source's new words stands in for quoting it
SHORT_WORDS = 12  # a span longer than this is a statement: quoted, not shown as a short answer
MAX_SIDES = 6  # articles a comparison gives one short answer each for
ABSTAIN_TEXT = "The articles don't say. The closest passages are listed below."
REFUSE_TEXT = (
    "I can only answer questions about the articles in the archive, and the articles don't say anything about that."
)


@dataclass(frozen=True)
class Part:
    """One part of a two-part question, read on its own."""

    query: Query
    choices: list[Choice]
    evidence: list[Evidence]

    @property
    def best(self) -> Choice | None:
        """The reading the abstention model looks at (the reader's largest margin)."""
        return max(self.choices, key=lambda c: c.reading.margin) if self.choices else None


@dataclass
class Asked:
    """One question on its way through the pipeline: what every handler reads."""

    text: str  # as asked (cleaned)
    query: Query  # of the stand-alone question
    retriever: Retriever
    hits: list[Hit]
    vector: np.ndarray
    t0: float
    top_k: int
    mode: str
    id: str | None
    # The stand-alone question as asked, with the dates or outlet that name the articles it is
    # about ("according to CNN"); `query` is read without them, since the passages never say them.
    stated: Query
    timings: dict[str, float] = field(default_factory=dict)
    meta: MetadataAnswer | None = None  # set by the router when the question is about the articles

    @property
    def standalone(self) -> str:
        """The stand-alone question's text, article names included."""
        return self.stated.text

    @property
    def articles(self) -> dict[str, Article]:
        """The served archive's articles."""
        return self.retriever.snapshot.articles

    def base(self) -> Answer:
        """The answer every handler fills in."""
        return Answer(
            self.text,
            "",
            False,
            (),
            tuple(self.hits),
            self.timings,
            id=self.id,
            standalone_question=self.standalone,
        )

    def done(self) -> dict[str, float]:
        """The timings with the total so far."""
        self.timings.setdefault("generate", 0.0)
        self.timings["total"] = (time.perf_counter() - self.t0) * 1000
        return self.timings


class Pipeline:
    """Answers questions over the served index; models load on first use and are shared by all callers."""

    def __init__(
        self,
        settings: Settings,
        embedder: Embedder | None = None,
        generator: Generator | None = None,
        reader: Reader | None = None,
    ) -> None:
        self.settings = settings
        self._embedder = embedder
        self._sentence_embedder: CachingEmbedder | None = None
        self._generator = generator
        self._reader = reader
        self._snapshot: Snapshot | None = None
        self._retriever: Retriever | None = None
        self._lock = threading.Lock()
        self._models = threading.RLock()  # lazy models are created once, whichever thread asks first
        self.abstainer = load_model()
        self.spans = load_spans()

    @property
    def embedder(self) -> Embedder:
        """The embedding model (created lazily)."""
        if self._embedder is None:
            with self._models:
                if self._embedder is None:
                    self._embedder = make_embedder(self.settings)
        return self._embedder

    @property
    def sentence_embedder(self) -> CachingEmbedder:
        """The embedder with a cache, for evidence sentences that recur across questions."""
        if self._sentence_embedder is None:
            with self._models:
                if self._sentence_embedder is None:
                    self._sentence_embedder = CachingEmbedder(self.embedder)
        return self._sentence_embedder

    @property
    def generator(self) -> Generator:
        """The answer generator (created lazily)."""
        if self._generator is None:
            with self._models:
                if self._generator is None:
                    self._generator = make_generator(self.settings)
        return self._generator

    @property
    def reader(self) -> Reader:
        """The extractive reader (loaded on first use)."""
        if self._reader is None:
            with self._models:
                if self._reader is None:
                    self._reader = OnnxReader()
        return self._reader

    @property
    def asks_generator_for_facts(self) -> bool:
        """Whether the generator writes answers (a server's model), not only words short answers."""
        return bool(getattr(self.generator, "states_facts", True))

    @property
    def uses_generator(self) -> bool:
        """Whether any question may reach the generator with these settings."""
        return self.asks_generator_for_facts or self.settings.embedded_wording == "on"

    def warm(self, stop: threading.Event | None = None, prime: bool = False) -> None:
        """Load every model and open the served index now, so the first question does not pay for
        it: a server does this in a background thread as it starts, `rag ask` while spaCy parses
        the question (spaCy last, so that a question parsed meanwhile is not kept waiting). With
        `prime`, the embedded generator also reads the system prompt (a server, whose first
        question then starts generating about 0.45 s sooner; in `rag ask` it would compete with
        the question itself for the two cores). An index that is missing or broken is left for
        the first question to report. With `stop` set, no further step starts (the question was
        answered, or failed, without them)."""
        from index.nlp import load

        def open_index() -> None:
            try:
                self.retriever()
            except RagError:
                pass

        def load_generator() -> None:
            loader = getattr(self.generator, "load", None)  # the embedded model; a server is not called
            if callable(loader) and self.uses_generator:
                loader()

        def prime_generator() -> None:
            # The system prompt, read once now rather than with the first question's sources.
            primer = getattr(self.generator, "prime", None)  # the embedded model only
            if prime and callable(primer) and self.uses_generator:
                primer(answer_messages("", [], {}))

        steps = [
            open_index,
            lambda: self.embedder.embed(["warm up"]),
            lambda: self.reader.read("warm up?", [Context("", "warm up")]),
            load_generator,
            prime_generator,
            load,
        ]
        for step in steps:
            if stop is not None and stop.is_set():
                return
            step()

    def retriever(self) -> Retriever:
        """A retriever over the served generation, reopened when a build publishes a new one."""
        with self._lock:
            current = Snapshot.current_name(self.settings)
            if self._snapshot is None or self._retriever is None or current != self._snapshot.generation.name:
                snapshot = Snapshot.open(self.settings)
                retriever = Retriever(snapshot, self.embedder)  # may refuse it: then nothing changes
                if self._snapshot is not None:
                    self._snapshot.close()
                self._snapshot, self._retriever = snapshot, retriever
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
            timings = {"retrieve": 0.0, "generate": 0.0, "total": (time.perf_counter() - t0) * 1000}
            yield Final(Answer(text, REFUSE_TEXT, True, (), (), timings, mode="refused", id=id))
            return
        query = parse_query(text)
        if history and query.followup:
            earlier = [parse_query(t.question) for t in list(history)[-3:]]
            query = parse_query(standalone_question(query, list(history), earlier))
        retriever = self.retriever()
        stated = query
        standalone = query.text
        scope = self.scope(standalone, retriever.snapshot.articles)
        if scope is not None:
            articles = retriever.snapshot.articles
            unnamed = without_article_names(standalone, articles)
            if unnamed != standalone and unnamed.strip(" ,.?!"):
                query = parse_query(unnamed)
            if outlets := named_outlet_forms(standalone, articles):
                # The outlet picked the articles; it is not a name their passages must mention.
                kept = tuple(e for e in query.entities if _bare_name(e.text) not in outlets)
                query = replace(query, entities=kept)
        query = typed(query, self.sentence_embedder)
        k = top_k or self.settings.top_k
        retrieval = mode or self.settings.retrieval
        vector = self.embedder.embed([query.text])[0]
        hits = retriever.search(query.text, k, retrieval, vector, scope)
        if query.comparative and scope is None and not compare:
            hits = retriever.per_article(query.text, hits, k, retrieval, vector)
        asked = Asked(text, query, retriever, hits, vector, t0, k, retrieval, id, stated)
        asked.timings["retrieve"] = (time.perf_counter() - t0) * 1000
        yield from self.route(asked, compare)(asked)

    def route(self, asked: Asked, compare: bool) -> Callable[[Asked], Iterator[Event]]:
        """The handler for the question's answer mode."""
        if not compare:
            related = [asked.articles[d] for d in dict.fromkeys(h.passage.doc_id for h in asked.hits)]
            asked.meta = metadata_answer(asked.stated, asked.articles, related)
            if asked.meta is not None:
                return self.answer_metadata
        if compare:
            return self.answer_compare
        if asks_spelling(asked.query.text):
            return self.answer_spelling
        return self.answer_question

    @staticmethod
    def scope(question: str, articles: dict[str, Article]) -> frozenset[str] | None:
        """The articles a question is about when it names some of them by date ("according to the
        March 8 report") or outlet ("according to CNN"); None (the whole archive) otherwise."""
        named = named_articles(question, articles, as_source=True) or named_outlets(question, articles)
        if not named or len(named) == len(articles):
            return None
        return frozenset(a.doc_id for a in named)

    # --- handlers -----------------------------------------------------------------------------

    def answer_metadata(self, asked: Asked) -> Iterator[Event]:
        """Questions about the articles themselves, from their metadata (found by the router)."""
        meta = asked.meta
        assert meta is not None
        cites = tuple(metadata_citation(n, a) for n, a in enumerate(meta.articles, start=1))
        marked = meta.text + " " + " ".join(f"[{c.n}]" for c in cites)
        yield Final(
            replace(asked.base(), text=marked, citations=cites, contexts=(), mode="metadata", timings_ms=asked.done())
        )

    def answer_compare(self, asked: Asked) -> Iterator[Event]:
        """Side by side: what each article says, what agrees, what only one reports, what differs."""
        deep = asked.retriever.search(asked.query.text, max(asked.top_k, 10), asked.mode, asked.vector)
        comparison = compare(asked.query.text, deep, self.sentence_embedder, asked.articles)
        text, citations = render_comparison(comparison, asked.articles)
        base = replace(asked.base(), comparison=comparison, timings_ms=asked.done())
        if not citations:
            yield Final(replace(base, text=ABSTAIN_TEXT, abstained=True, mode="abstained"))
            return
        yield Final(replace(base, text=text, citations=citations, mode="compare"))

    def answer_spelling(self, asked: Asked) -> Iterator[Event]:
        """How each article writes the name the question is about."""
        deep = asked.retriever.per_article(asked.query.text, asked.hits, asked.top_k, asked.mode, asked.vector)
        evidence = select_evidence(asked.query.text, deep, self.sentence_embedder, asked.vector)
        found = writings(asked.query, evidence, asked.retriever.snapshot.names)
        if not found:
            yield from self.answer_question(asked)
            return
        text, citations = render(found, asked.articles)
        yield Final(replace(asked.base(), text=text, citations=citations, mode="spelling", timings_ms=asked.done()))

    def answer_question(self, asked: Asked) -> Iterator[Event]:
        """Read, decide, compose: a short answer and its quote, or "the articles don't say". A
        two-part question ("How many X, and when did Y?") is also read part by part: it is answered
        when a part is, and each part gets its own short answer."""
        t = time.perf_counter()
        query, hits = asked.query, asked.hits
        evidence = select_evidence(query.text, hits, self.sentence_embedder, asked.vector)
        asked.timings["evidence"] = (time.perf_counter() - t) * 1000
        t = time.perf_counter()
        snapshot, archive = asked.retriever.snapshot, asked.retriever.archive
        whole = Part(query, self.read(query, hits, snapshot), evidence)
        parts = [
            Part(q, self.read(q, hits, snapshot), select_evidence(q.text, hits, self.sentence_embedder))
            for q in (self.parse(text) for text in query.parts)
            if len(query.parts) > 1 and not query.comparative
        ]
        asked.timings["read"] = (time.perf_counter() - t) * 1000
        choices, best = whole.choices, whole.best
        signals = features(query, best, evidence, archive)
        p = self.abstainer.probability(signals)
        for part in parts:
            p = max(p, self.abstainer.probability(features(part.query, part.best, part.evidence, archive)))
        signals["p_answerable"] = p
        base = replace(asked.base(), signals=signals)
        if source := unheard_source(asked.stated, asked.articles, archive):
            # "According to the BBC, ...": no article is the BBC's or mentions it, so none says what it reports.
            text = f"No article in the archive is from or mentions {source}. The closest passages are listed below."
            yield Final(replace(base, text=text, abstained=True, mode="abstained", timings_ms=asked.done()))
            return
        if best is None or not evidence or p < self.abstainer.threshold:
            yield Final(replace(base, text=ABSTAIN_TEXT, abstained=True, mode="abstained", timings_ms=asked.done()))
            return
        picks = rank_spans(self.spans, query, choices)
        signals["span_p"] = picks[0].p
        leads: list[Evidence] = []
        spans: list[tuple[str, Evidence, int, int]] = []  # short answer text, its sentence, body offsets
        # The span leads only when the span model is sure enough (its threshold keeps a wrong
        # short answer above a right quote rare); otherwise the best evidence sentence does.
        if parts:
            shown = [(pt.query, pick) for pt in parts for pick in rank_spans(self.spans, pt.query, pt.choices)[:1]]
        else:
            shown = [(query, pick) for pick in self._answers(query, picks)]
        for asked_for, pick in shown:
            if pick.p < self.spans.threshold:
                continue
            found = self.locate(pick.choice, hits, asked.articles, asked.retriever)
            if found is None:
                continue
            sentence, s, e = found
            leads.append(sentence)
            text = pick.choice.reading.text
            same = any(sp[1].passage.doc_id == sentence.passage.doc_id and sp[2:] == (s, e) for sp in spans)
            if short_form(asked_for, text) and not same:  # two parts read as one span: shown once
                spans.append((text, sentence, s, e))
        if leads:
            # The best-matching sentence is quoted too: a short answer that is wrong still comes
            # with the quote that may hold the right one.
            leads += evidence[:1]
        else:
            # Not sure of the span: quote the best-matching sentence, and the sentence the reader
            # would answer from when it is another one (answers often sit beside the best match).
            leads = evidence[:1]
            found = self.locate(picks[0].choice, hits, asked.articles, asked.retriever)
            if found is not None:
                leads.append(found[0])
        for part in parts:  # each part's best-matching sentence
            leads += part.evidence[:1]
        if not parts:  # a comparison's second part
            for text in query.parts[1:]:
                leads += select_evidence(text, hits, self.sentence_embedder)[:1]
        sources = distinct(leads + evidence, N_SOURCES)
        must_quote = len(distinct(leads, N_SOURCES))
        yield from self._compose(asked, base, sources, must_quote, spans, p)

    def parse(self, text: str) -> Query:
        """The question's Query, with the labels a "which X" question asks for (rag.answer_types)."""
        return typed(parse_query(text), self.sentence_embedder)

    def read(self, query: Query, hits: list[Hit], snapshot: Snapshot) -> list[Choice]:
        """The reader's spans in each of the top passages (with its article's headline): the best
        one of each passage, then its alternatives, then the names of the type asked for that it
        scores best (headline and passage, names the question itself uses left out); read from the
        generation the hits came from (a rebuild may publish another one meanwhile)."""
        top = hits[:READ_DEPTH]
        articles, names = snapshot.articles, snapshot.names
        labels = query.labels
        asked = {fold(e.text) for e in query.entities}
        contexts, all_mentions = [], []
        for h in top:
            a = articles.get(h.passage.doc_id)
            ctx = Context(a.title if a is not None and a.headline else "", h.passage.text)
            shift = ctx.offset - h.passage.start
            found = names.mentions.get(h.passage.doc_id, [])
            mentions = headline_names(ctx.headline) + tuple(
                (s + shift, e + shift, lab) for s, e, lab in found if h.passage.start <= s and e <= h.passage.end
            )
            if labels:
                wanted = tuple((s, e) for s, e, lab in mentions if lab in labels and fold(ctx.joined[s:e]) not in asked)
                ctx = replace(ctx, candidates=tuple(dict.fromkeys(wanted)))
            contexts.append(ctx)
            all_mentions.append(mentions)
        readings = self.reader.read(query.for_reader, contexts)
        out = []
        for i, (h, ctx, r, mentions) in enumerate(zip(top, contexts, readings, all_mentions)):
            # The passage's best span, then its next-best ones (the span model may prefer one).
            for alt, reading in enumerate((r, *r.alternatives)):
                one = replace(reading, alternatives=())
                out.append(Choice(i, one, ctx.joined, mentions, ctx.offset, alt, h.passage.doc_id))
        return out

    @staticmethod
    def _answers(query: Query, picks: list[Pick]) -> list[Pick]:
        """The readings that may be shown: the most likely one, or for a comparison the most
        likely of each article (the caller gates them by the span model's threshold)."""
        if not query.comparative:
            return picks[:1]
        per_doc: dict[str, Pick] = {}
        for pick in picks:
            per_doc.setdefault(pick.choice.doc, pick)
        return list(per_doc.values())[:MAX_SIDES]

    @staticmethod
    def locate(
        choice: Choice, hits: list[Hit], articles: dict[str, Article], retriever: Retriever | None = None
    ) -> tuple[Evidence, int, int] | None:
        """The span as offsets into its article body and the sentence(s) holding it. A span the
        reader took from the headline is looked up in the body: in this passage, else in the
        article's other retrieved passages, else anywhere in the body, and quoted from the passage
        it is found in (None when the body lacks it)."""
        r = choice.reading
        passage = hits[choice.index].passage
        article = articles.get(passage.doc_id)
        if article is None or not r.text:
            return None
        offset = choice.offset
        if r.start >= offset:
            s, e = passage.start + r.start - offset, passage.start + r.end - offset
        else:  # from the headline: where the body says it
            same = [h.passage for h in hits if h.passage.doc_id == passage.doc_id and h.passage is not passage]
            found = next(((p, at) for p in (passage, *same) if (at := whole_word_at(p.text, r.text)) >= 0), None)
            if found is not None:
                passage, at = found
                s = passage.start + at
            else:
                s = whole_word_at(article.body, r.text)
                if s < 0:
                    return None
                holder = retriever.passage_at(passage.doc_id, s, s + len(r.text)) if retriever is not None else None
                if holder is None:
                    return None  # no one passage holds it: the quote would not show it
                passage = holder
            e = s + len(r.text)
        if article.body[s:e] != r.text:
            return None
        return sentence_around(article, passage, s, e), s, e

    def _draft(self, asked: Asked, sources: list[Evidence]) -> abc.Generator[Token, None, tuple[str, str]]:
        """Stream the model's draft as Tokens; return it whole (cut where it copies the prompt back)
        and a notice when the model failed (what it wrote before failing is still checked)."""
        messages = answer_messages(asked.text, sources, asked.articles)
        cut = getattr(self.generator, "echoes_prompt", False)
        draft, sent = "", 0  # sent: characters of the draft yielded so far
        try:
            # Closing the stream stops the generator: no tokens are spent on an echo.
            with contextlib.closing(self.generator.stream(messages, self.settings.llm_max_tokens)) as pieces:
                for piece in pieces:
                    asked.timings.setdefault("first_token", (time.perf_counter() - asked.t0) * 1000)
                    draft, echoed = before_echo(draft + piece) if cut else (draft + piece, False)
                    ready = len(draft) - (undecided(draft) if cut and not echoed else 0)
                    if ready > sent:
                        yield Token(draft[sent:ready])
                        sent = ready
                    if echoed:
                        break
            if len(draft) > sent:  # a held-back tail that was no marker after all
                yield Token(draft[sent:])
        except LLMUnavailableError as exc:
            return draft, f"{exc}; showing the best passages instead"
        return draft, ""

    def _compose(
        self,
        asked: Asked,
        base: Answer,
        sources: list[Evidence],
        must_quote: int,
        spans: list[tuple[str, Evidence, int, int]],
        p: float,
    ) -> Iterator[Event]:
        articles = asked.articles
        t1 = time.perf_counter()
        draft, notice = "", ""
        # A model that may not state facts (the embedded 135M one) only words a short answer, and
        # only when asked to (settings.embedded_wording): otherwise, or with no short answer to
        # word, it is not asked, and the answer is the short answer and its quote.
        wording_only = not self.asks_generator_for_facts
        if not wording_only or (spans and self.settings.embedded_wording == "on"):
            draft, notice = yield from self._draft(asked, sources)
        asked.timings["generate"] = (time.perf_counter() - t1) * 1000
        checked = verify(draft, sources, self.sentence_embedder) if draft else []
        if wording_only:
            checked = [states_a_span(s, [sp[0] for sp in spans]) for s in checked]
        quoted = [with_antecedent(e, _body(articles, e)) for e in sources]
        text, citations, mode = compose(checked, sources, articles, must_quote, asked.query.text, quoted)
        short: ShortAnswer | None = None
        lines = []
        for span_text, sentence, s, e in spans:
            n = next((c.n for c in citations if c.doc_id == sentence.passage.doc_id and c.start <= s and e <= c.end), 0)
            if not n:
                continue
            if short is None:
                short = ShortAnswer(span_text, n, sentence.passage.doc_id, s, e, p)
            lines.append(f"{span_text} [{n}]")
        if lines:
            text = "; ".join(lines) + "\n" + text
        claims = {c.n: src.text for c in citations for src, q in zip(sources, quoted) if _same_span(c, q)}
        support = self.corroborate(citations, asked.retriever, claims)
        yield Final(
            replace(
                base,
                text=text,
                citations=citations,
                notice=notice,
                mode=mode,
                support=support,
                short_answer=short,
                timings_ms=asked.done(),
            )
        )

    def corroborate(
        self, citations: tuple[Citation, ...], retriever: Retriever, claims: dict[int, str] | None = None
    ) -> tuple[ArticleSupport, ...]:
        """For each citation, the articles that report the same fact (checked, not string-matched),
        out of the articles whose passages come up for it."""
        articles = retriever.snapshot.articles
        out = []
        for c in citations:
            matches = []
            covering = {c.doc_id}
            fact = (claims or {}).get(c.n, c.sentence)
            # A two-sentence citation is backed by an article that reports either sentence.
            for s, e in split_sentences(fact):
                claim = fact[s:e]
                hits = retriever.search(claim, SUPPORT_DEPTH, "hybrid")
                covering |= {h.passage.doc_id for h in hits}
                matches += find_matches(claim, c.doc_id, hits, self.sentence_embedder)
            same = list(dict.fromkeys([c.doc_id] + [m.doc_id for m in matches if m.kind == "same"]))
            conflicts = list(dict.fromkeys(m.doc_id for m in matches if m.kind == "conflict" and m.doc_id not in same))
            label = support_label(same, conflicts, articles, len(covering))
            out.append(ArticleSupport(c.n, fact, tuple(same), tuple(conflicts), label))
        return tuple(out)


@functools.lru_cache(maxsize=4096)
def headline_names(headline: str) -> tuple[tuple[int, int, str], ...]:
    """(start, end, label) of the names spaCy finds in a headline (offsets in the headline, which
    opens the reader's context), by the NER pipe that found the bodies' names at index time;
    headlines recur across questions, so each is read once."""
    if not headline.strip():
        return ()
    (found,) = names_of([headline.strip()])
    return tuple((s, e, label) for s, e, label in found)


def whole_word_at(text: str, phrase: str) -> int:
    """Where the phrase first occurs in the text as whole words ("UPS", never the start of
    "UPSET"), or -1."""
    found = re.search(rf"(?<!\w){re.escape(phrase)}(?!\w)", text)
    return found.start() if found else -1


def sentence_around(article: Article, passage: Passage, start: int, end: int) -> Evidence:
    """The sentence(s) of the passage that hold body[start:end] (the whole passage if none does)."""
    spans = [(s, e) for s, e in passage.sentences if s < end and start < e] or [(passage.start, passage.end)]
    s, e = spans[0][0], spans[-1][1]
    return Evidence(passage, s, e, article.body[s:e], 1.0)


def states_a_span(support: Support, spans: list[str]) -> Support:
    """A supported claim of a model that may only word short answers stays supported when it
    states one of them (every word of the span is in it); otherwise it is dropped, whatever it
    shares with its source ("The packet header is long [1]" over "the packet header can be small")."""
    if not support.supported:
        return support
    words = set(tokenize(support.claim.text))
    if any(span_words and set(span_words) <= words for span_words in map(tokenize, spans)):
        return support
    return replace(support, supported=False, reason="states no short answer")


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
    for source in range(1, must_quote + 1):
        number(source)  # the leads (they hold the short answers) are cited first
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
        label = article_name(articles.get(e.passage.doc_id), headline=False)
        parts.append(f"{label[0].upper() + label[1:]} reports: {quote(e.text)} [{number(source)}]")
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


def unheard_source(query: Query, articles: dict[str, Article], archive: Archive) -> str | None:
    """A name the question attributes what it asks to ("according to the BBC") that is no article's
    outlet and that no article mentions: the articles cannot say what it reports. None otherwise."""
    sources = outlets(articles)
    for name in query.attributed:
        if any(names_outlet(name, src) or names_outlet(src, name) for src in sources):
            continue
        bare = re.sub(r"^the\s+", "", name, flags=re.I)  # "the" is in no name index
        # Articles often name a person by surname alone ("Biden" for "Joe Biden"): its last word
        # mentioned is enough, so the check errs on the side of reading the articles.
        if not known(bare, archive) and not (len(bare.split()) > 1 and known(bare.split()[-1], archive)):
            return name
    return None


def _bare_name(text: str) -> str:
    """An entity's text folded, without a leading "the" or a possessive: "the Valley Times's"."""
    name = fold(text).strip()
    name = re.sub(r"^the\s+", "", name)
    return re.sub(r"['’]s$", "", name).strip()


def metadata_citation(n: int, article: Article) -> Citation:
    """A citation of an article's metadata (headline and dateline), which lie outside its body."""
    lines = [f"Headline: {article.title}" if article.headline else "No headline", f"Dated: {when(article)}"]
    if article.source:
        lines.append(f"Source: {article.source}")
    if article.author:
        lines.append(f"By: {article.author}")
    text = "\n".join(lines)
    return Citation(n, article.doc_id, article.title, article.date, text, text, 0, 0, 1.0)


def short_form(query: Query, text: str) -> bool:
    """Whether a span can stand as a short answer: the question asks for a name, number, date or
    phrase, and the span is one (short, its quotes and brackets closed), not a statement."""
    return query.short and 0 < len(text.split()) <= SHORT_WORDS and _balanced(text)


def _balanced(text: str) -> bool:
    """A span that opens no quotation or bracket it does not close."""
    pairs = (("“", "”"), ("(", ")"), ("[", "]"))
    return all(text.count(a) == text.count(b) for a, b in pairs) and text.count('"') % 2 == 0


def _body(articles: dict[str, Article], e: Evidence) -> str | None:
    article = articles.get(e.passage.doc_id)
    return article.body if article else None


def _same_span(c: Citation, e: Evidence) -> bool:
    return c.doc_id == e.passage.doc_id and c.start == e.start and c.end == e.end
