"""The Gradio page: chat, sources, settings and documents panels wired to the plain handlers."""

# No `from __future__ import annotations` here: Gradio reads the handlers' type hints at runtime
# (gr.SelectData, gr.Progress, gr.api's typing), and gradio is only imported inside create_app.
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from rag.errors import RagError
from rag.settings import Settings
from ui import render
from ui.api import answer_request
from ui.building import BuildStatus
from ui.chat import Chat, ChatOptions, Conversation, examples
from ui.documents import COLUMNS, UPLOAD_TYPES, Documents
from ui.pipelines import PipelineFactory, Pipelines

if TYPE_CHECKING:
    import gradio as gr

CONCURRENCY = 4  # events of one kind run at once; more wait in Gradio's queue (the generator has its own lock)
BACKENDS = ["embedded", "ollama", "openai"]
# Bring the highlighted sentence of an opened article into view (the article body scrolls on its own).
SCROLL_TO_MARK = (
    "() => document.querySelector('#rag-article mark')?.scrollIntoView({block: 'center', behavior: 'smooth'})"
)


def _served_articles(settings: Settings) -> dict:
    """The served index's articles (none while there is no index yet), read without the models."""
    from index.layout import Layout
    from index.records import read_articles

    try:
        gen = Layout(settings.data_dir).current()
        return read_articles(gen) if gen is not None else {}
    except (OSError, ValueError, TypeError, RagError):
        return {}


def create_app(
    settings: Settings,
    pipeline_factory: PipelineFactory | None = None,
    *,
    pipelines: Pipelines | None = None,
    status: BuildStatus | None = None,
) -> "gr.Blocks":
    """The chat app as a gr.Blocks (not launched); serve() mounts it next to the HTTP API."""
    import gradio as gr

    pipelines = Pipelines(settings, pipeline_factory) if pipelines is None else pipelines
    status = BuildStatus() if status is None else status
    chat = Chat(pipelines, status)
    docs = Documents(pipelines, status)
    backends = BACKENDS + ([settings.llm] if settings.llm not in BACKENDS else [])

    progress_bar = gr.Progress()

    with gr.Blocks(title="News archive Q&A", analytics_enabled=False) as blocks:
        conversation = gr.State(Conversation())
        gr.Markdown(
            "## News archive Q&A\nAnswers come only from the indexed articles; every `[n]` is tied to the "
            "numbered source under the answer."
        )
        banner = gr.HTML(elem_id="rag-banner")
        timer = gr.Timer(2.0, active=False)

        with gr.Tab("Chat"):
            chatbot = gr.Chatbot(
                label="Chat",
                elem_id="rag-chat",
                height=560,
                render_markdown=False,  # our HTML is escaped and complete; markdown must not reinterpret it
                sanitize_html=True,
                latex_delimiters=[],
                examples=[{"text": q} for q in examples(_served_articles(settings))],
                placeholder="Ask a question about the news articles, or pick an example.",
                buttons=["copy"],
                group_consecutive_messages=False,  # an error after an answer gets its own bubble
            )
            with gr.Row():
                question = gr.Textbox(
                    placeholder="Ask about the articles…", show_label=False, scale=8, elem_id="rag-question"
                )
                ask = gr.Button("Ask", variant="primary", scale=1, min_width=90, elem_id="rag-ask")
                clear = gr.Button("Start over", scale=1, min_width=140, elem_id="rag-clear")
            with gr.Row(equal_height=False):
                source = gr.Dropdown(label="Sources of this chat", choices=[], scale=4, elem_id="rag-source")
                open_source = gr.Button("Open source", scale=1, min_width=140, elem_id="rag-open")
            compare = gr.Checkbox(
                label="Compare the articles: answer from each one side by side, with what they agree on and where "
                "they differ",
                value=False,
                elem_id="rag-compare",
            )
            article = gr.HTML(elem_id="rag-article")
            with gr.Accordion("Settings", open=False, elem_id="rag-settings"):
                with gr.Row():
                    wording = "worded by SmolLM2" if settings.embedded_wording == "on" else "no model wording"
                    llm = gr.Radio(
                        backends,
                        value=settings.llm,
                        label="Generator backend",
                        info=f"embedded: the reader's short answer and the quotes ({wording}, RAG_EMBEDDED_WORDING); "
                        "ollama / openai: the server's model writes the answer, each sentence checked",
                        elem_id="rag-llm",
                    )
                    retrieval = gr.Radio(
                        ["hybrid", "dense", "bm25"], value=settings.retrieval, label="Retrieval", elem_id="rag-mode"
                    )
                with gr.Row():
                    llm_url = gr.Textbox(
                        value=settings.llm_url, label="Server URL (ollama / openai)", placeholder="default: local"
                    )
                    llm_model = gr.Textbox(value=settings.llm_model, label="Model (ollama / openai)")
                top_k = gr.Slider(1, 20, value=min(settings.top_k, 20), step=1, label="Passages retrieved")

        with gr.Tab("Documents"):
            table = gr.Dataframe(
                headers=COLUMNS,
                interactive=False,
                elem_id="rag-docs",
                wrap=True,
                column_widths=["20%", "11%", "15%", "44%", "10%"],
            )
            files = gr.File(
                label="Add articles (.txt, .md, .html pages, .rss/.atom feeds, .jsonl/.csv exports)",
                file_count="multiple",
                file_types=UPLOAD_TYPES,
                type="filepath",
                elem_id="rag-upload",
            )
            add = gr.Button("Add to archive", variant="primary", elem_id="rag-add")
            docs_message = gr.HTML(elem_id="rag-docs-message")
            with gr.Row(equal_height=False):
                remove_id = gr.Dropdown(label="Added documents", choices=[], scale=4, elem_id="rag-remove-id")
                remove = gr.Button("Remove", variant="stop", scale=1, elem_id="rag-remove")
            with gr.Row(equal_height=False):
                view_id = gr.Dropdown(label="Read an article", choices=[], scale=4, elem_id="rag-view-id")
                view = gr.Button("Read", scale=1, elem_id="rag-view")
            doc_view = gr.HTML(elem_id="rag-doc-view")

        def respond(
            text: str, conv: Conversation, backend: str, url: str, model: str, k: float, mode: str, side_by_side: bool
        ) -> Iterator[tuple[list[dict[str, str]], Conversation, Any]]:
            options = ChatOptions(backend, url, model, int(k) if k else None, mode, bool(side_by_side))
            for i, updated in enumerate(chat.respond(text, conv, options)):
                # Empty the question box once; later the person may already be typing the next one.
                yield updated.messages, updated, "" if i == 0 else gr.skip()

        def ask_api(question: str, top_k: int = 0, retrieval: str = "") -> dict:
            """Answer a question from the articles: the same JSON object as POST /api/ask."""
            body: dict[str, Any] = {"question": question, "top_k": top_k or None, "retrieval": retrieval or None}
            code, data = answer_request(pipelines, body, status)
            if code != 200:
                raise gr.Error(data["error"])
            return data

        def sources(conv: Conversation) -> Any:
            return gr.update(choices=chat.sources(conv), value=None)

        def example(evt: gr.SelectData) -> str:
            value = evt.value
            return value.get("text", "") if isinstance(value, dict) else str(value)

        def refresh() -> tuple[Any, Any, Any]:
            return (
                docs.rows(),
                gr.update(choices=docs.uploaded_ids(), value=None),
                gr.update(choices=docs.all_ids(), value=None),
            )

        def banner_state() -> tuple[str, Any]:
            message = status.message()
            html = render.message_html(message, "building" if status.running else "error") if message else ""
            return html, gr.Timer(active=status.running)

        def on_load() -> tuple[Any, ...]:
            return (*banner_state(), *refresh())

        def on_tick() -> tuple[Any, ...]:
            return (*banner_state(), *(refresh() if not status.running else (gr.skip(),) * 3))

        def add_files(paths: list[str] | None, progress: gr.Progress = progress_bar) -> tuple[Any, ...]:
            def report(done: int, total: int) -> None:
                progress((done, total), desc="Embedding", unit="passages")

            return (docs.add(paths, report), None, *refresh())

        def remove_doc(doc_id: str | None, progress: gr.Progress = progress_bar) -> tuple[Any, ...]:
            def report(done: int, total: int) -> None:
                progress((done, total), desc="Embedding", unit="passages")

            return (docs.remove(doc_id, report), *refresh())

        # Each event's concurrency is set here rather than by blocks.queue(default_concurrency_limit=...):
        # queue() rebuilds Gradio's whole route table (0.3 s of `rag serve`'s start) that mounting
        # the page builds again anyway.
        private: dict[str, Any] = {"api_visibility": "private", "concurrency_limit": CONCURRENCY}
        chat_inputs = [question, conversation, llm, llm_url, llm_model, top_k, retrieval, compare]
        chat_outputs = [chatbot, conversation, question]
        asked = gr.on([question.submit, ask.click], respond, chat_inputs, chat_outputs, **private)
        asked.then(sources, conversation, source, **private)
        picked = chatbot.example_select(example, None, question, queue=False, **private).then(
            respond, chat_inputs, chat_outputs, **private
        )
        picked.then(sources, conversation, source, **private)

        def start_over() -> tuple[Any, ...]:
            return [], Conversation(), gr.update(choices=[], value=None), "", ""

        start_over_outputs = [chatbot, conversation, source, article, question]
        # Starting over stops an answer still streaming, so it cannot bring the old chat back.
        gr.on([clear.click, chatbot.clear], start_over, None, start_over_outputs, cancels=[asked, picked], **private)
        gr.on([open_source.click, source.input], chat.open_source, [source, conversation], article, **private).then(
            None, js=SCROLL_TO_MARK, **private
        )
        add.click(add_files, files, [docs_message, files, table, remove_id, view_id], **private)
        remove.click(remove_doc, remove_id, [docs_message, table, remove_id, view_id], **private)
        gr.on([view.click, view_id.input], docs.view, view_id, doc_view, **private)
        status_outputs = [banner, timer, table, remove_id, view_id]
        blocks.load(on_load, None, status_outputs, show_progress="hidden", **private)
        timer.tick(on_tick, None, status_outputs, show_progress="hidden", **private)
        gr.api(ask_api, api_name="ask", concurrency_limit=CONCURRENCY)
    return blocks
