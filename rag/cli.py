"""The `rag` command line: index, ask, serve, eval, bench. Errors become one line, never a traceback."""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from rag.errors import RagError
from rag.settings import Settings

F = TypeVar("F", bound=Callable[..., Any])
EXIT_SKIPPED = 3
# Commands that only read: once their output is flushed nothing is left to finish, so the console
# script ends them at once instead of waiting ~1 s for Python to tear down torch and
# sentence-transformers (measured 0.9-1.3 s after every `rag ask`).
READ_ONLY = frozenset({"ask"})
_invoked: str | None = None


def friendly_errors(func: F) -> F:
    """Turn library errors and Ctrl-C into a one-line message and a non-zero exit."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except RagError as exc:
            raise click.ClickException(f"{type(exc).__name__}: {exc}") from None
        except KeyboardInterrupt:
            click.echo("Interrupted; the previously built index is unchanged.", err=True)
            sys.exit(130)

    return wrapper  # type: ignore[return-value]


def _settings_help() -> str:
    rows = "\n".join(f"  {env:<22} {help_} (default: {default})" for env, default, help_ in Settings.describe())
    return "Settings come from these environment variables (flags override them):\n\n\b\n" + rows


@click.group(epilog=_settings_help())
@click.version_option(package_name="rag-news")
@click.option("--data-dir", type=click.Path(path_type=Path), help="Index and documents folder [RAG_DATA_DIR].")
@click.option("--seeds-dir", type=click.Path(path_type=Path), help="Folder of articles always indexed [RAG_SEEDS_DIR].")
@click.option("--chroma-url", help="Use a Chroma server at this URL instead of the embedded store [RAG_CHROMA_URL].")
@click.option(
    "--embedder", type=click.Choice(["minilm", "minilm-torch", "fake"]), help="Embedding backend [RAG_EMBEDDER]."
)
@click.option("--set", "pairs", multiple=True, metavar="KEY=VALUE", help="Any other setting, e.g. --set top_k=8.")
@click.pass_context
def main(
    ctx: click.Context,
    data_dir: Path | None,
    seeds_dir: Path | None,
    chroma_url: str | None,
    embedder: str | None,
    pairs: tuple[str, ...],
) -> None:
    """Ask questions about a news archive and get answers with verified citations."""
    global _invoked
    _invoked = ctx.invoked_subcommand
    overrides: dict[str, Any] = {
        "data_dir": data_dir,
        "seeds_dir": seeds_dir,
        "chroma_url": chroma_url,
        "embedder": embedder,
    }
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep:
            raise click.BadParameter(f"{pair!r} is not KEY=VALUE", param_hint="--set")
        overrides[key.strip().replace("-", "_")] = value
    try:
        ctx.obj = Settings.from_env(**overrides)
    except RagError as exc:
        raise click.ClickException(str(exc)) from None


@main.command("index")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("--rebuild", is_flag=True, help="Re-embed everything from scratch.")
@click.option("--remove", "remove_ids", multiple=True, metavar="DOC_ID", help="Remove an added article.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar or table.")
@click.option(
    "--map",
    "field_map",
    metavar="FIELD=COLUMN,...",
    help="Columns of a JSON Lines / CSV export that hold our fields (title, date, source, url, body, author, id), "
    "e.g. --map title=Headline,body=story. Usual names are recognised without it.",
)
@click.pass_obj
@friendly_errors
def index_cmd(
    settings: Settings,
    paths: tuple[Path, ...],
    rebuild: bool,
    remove_ids: tuple[str, ...],
    quiet: bool,
    field_map: str | None,
) -> None:
    """Index the documents folder and any PATHS: files or folders of .txt, .md, .html pages,
    .rss/.atom/.xml feeds, .jsonl/.csv/.json exports.

    Added files are copied into the documents folder so they stay in the archive (a folder keeps its
    name: `rag index bbc/ cnn/`). The demo seed articles are indexed only while the archive has no
    articles of its own (RAG_SEEDS=on keeps them). Only new or changed articles are embedded; an
    interrupted build resumes where it stopped. The exit status is 3 when some files were skipped.
    """
    from index.exports import parse_map
    from rag.indexing import run_index

    try:
        fields = parse_map(field_map) if field_map else None
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--map") from None
    skipped = run_index(settings, list(paths), rebuild=rebuild, remove_ids=list(remove_ids), quiet=quiet, fields=fields)
    if skipped:
        sys.exit(EXIT_SKIPPED)


@main.command("ask")
@click.argument("question", required=False)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.option(
    "--jsonl",
    "jsonl",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Answer every {id, question} line of a JSON Lines file ('-' = stdin), one JSON line each.",
)
@click.option("--llm", type=click.Choice(["embedded", "ollama", "openai", "fake"]), help="Generator backend [RAG_LLM].")
@click.option("--llm-url", help="Server URL for ollama/openai [RAG_LLM_URL].")
@click.option("--llm-model", help="Model name for ollama/openai [RAG_LLM_MODEL].")
@click.option("--top-k", type=click.IntRange(1, 50), help="Passages retrieved [RAG_TOP_K].")
@click.option("--retrieval", type=click.Choice(["hybrid", "dense", "bm25"]), help="Retrieval mode [RAG_RETRIEVAL].")
@click.option("--compare", is_flag=True, help="Answer from each article side by side: agreements, differences.")
@click.pass_obj
@friendly_errors
def ask_cmd(
    settings: Settings,
    question: str | None,
    as_json: bool,
    jsonl: Path | None,
    llm: str | None,
    llm_url: str | None,
    llm_model: str | None,
    top_k: int | None,
    retrieval: str | None,
    compare: bool,
) -> None:
    """Answer QUESTION from the articles, with numbered, verified citations."""
    from rag.asking import ask_many, ask_one

    settings = settings.replace(
        **{
            k: v
            for k, v in {
                "llm": llm,
                "llm_url": llm_url,
                "llm_model": llm_model,
                "top_k": top_k,
                "retrieval": retrieval,
            }.items()
            if v is not None
        }
    )
    if jsonl is not None:
        if question is not None:
            raise click.UsageError("give a QUESTION or --jsonl FILE, not both")
        sys.exit(ask_many(settings, jsonl, compare))
    if question is None:
        raise click.UsageError("give a QUESTION or --jsonl FILE")
    sys.exit(ask_one(settings, question, as_json, compare))


@main.command("serve")
@click.option("--host", help="Address to bind [RAG_HOST]; non-loopback needs --auth or --open.")
@click.option("--port", type=int, help="Port [RAG_PORT].")
@click.option("--auth", help="Require login user:password [RAG_AUTH].")
@click.option(
    "--open", "allow_open", is_flag=True, help="Allow a non-loopback bind without login (intentionally open)."
)
@click.option("--llm", type=click.Choice(["embedded", "ollama", "openai", "fake"]), help="Generator backend [RAG_LLM].")
@click.option("--llm-url", help="Server URL for ollama/openai [RAG_LLM_URL].")
@click.option("--llm-model", help="Model name for ollama/openai [RAG_LLM_MODEL].")
@click.pass_obj
@friendly_errors
def serve_cmd(
    settings: Settings,
    host: str | None,
    port: int | None,
    auth: str | None,
    allow_open: bool,
    llm: str | None,
    llm_url: str | None,
    llm_model: str | None,
) -> None:
    """Start the chat web app and the HTTP API (builds the index first if there is none)."""
    from ui.server import serve

    changes = {"host": host, "port": port, "auth": auth, "llm": llm, "llm_url": llm_url, "llm_model": llm_model}
    serve(settings.replace(**{k: v for k, v in changes.items() if v is not None}), allow_open=allow_open)


@main.command("eval")
@click.option(
    "--dataset",
    type=click.Path(path_type=Path, dir_okay=False, exists=True),
    help="Gold set in JSON Lines (default: evals/gold.jsonl).",
)
@click.option(
    "--config",
    "configs",
    multiple=True,
    help="Configuration(s) to compare: ours, dense, bm25, baseline, extractive (default: all).",
)
@click.option("--limit", type=int, help="Only the first N questions.")
@click.option("--subset", type=click.Choice(["all", "fast"]), default="all", help="fast = the CI subset.")
@click.option(
    "--out",
    type=click.Path(path_type=Path, file_okay=False),
    default=Path("evals/results"),
    help="Results folder (JSON, Markdown report, PNG plots).",
)
@click.option("--check", is_flag=True, help="Exit 1 when a headline metric is below its threshold.")
@click.option(
    "--kit",
    "kit_dir",
    type=click.Path(path_type=Path, file_okay=False, exists=True),
    help="A kit folder (articles/ + questions.jsonl): evaluate on a scratch index of its articles alone.",
)
@click.option(
    "--part",
    type=click.Choice(["report", "tune", "all"]),
    default="report",
    show_default=True,
    help="Which part of the kit's fixed split: report (never tuned on), tune, or all.",
)
@click.pass_obj
@friendly_errors
def eval_cmd(
    settings: Settings,
    dataset: Path | None,
    configs: tuple[str, ...],
    limit: int | None,
    subset: str,
    out: Path,
    check: bool,
    kit_dir: Path | None,
    part: str,
) -> None:
    """Score answers, citations, abstentions, retrieval and speed on a gold set or a kit."""
    from evals.run import main as run_eval

    sys.exit(run_eval(settings, dataset, list(configs), limit, subset, out, check, kit_dir, part))


@main.command("bench")
@click.option("--sizes", default="seeds,1000,10000", help="Archive sizes in passages, comma-separated.")
@click.option("--queries", type=int, default=200, help="Retrieval queries per size.")
@click.option(
    "--baseline-max",
    type=int,
    default=20_000,
    show_default=True,
    help="Largest archive (passages) on which the llama-index starter is also built.",
)
@click.option(
    "--out", type=click.Path(path_type=Path, file_okay=False), default=Path("evals/results"), help="Results folder."
)
@click.pass_obj
@friendly_errors
def bench_cmd(settings: Settings, sizes: str, queries: int, baseline_max: int, out: Path) -> None:
    """Measure indexing, retrieval, answering, cold start and memory as the archive grows."""
    from evals.bench import main as run_bench

    sys.exit(run_bench(settings, sizes, queries, out, baseline_max))


def run() -> None:
    """The `rag` console script: `main`, ending a read-only command without interpreter teardown."""
    global _invoked
    _invoked = None
    try:
        main()
    except SystemExit as exc:
        if _invoked not in READ_ONLY or not isinstance(exc.code, (int, type(None))):
            raise
        code = exc.code or 0
    else:  # pragma: no cover - click always exits
        code = 0
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a full disk or a closed pipe: the output did not all get out
            code = code or 1
    os._exit(code)


if __name__ == "__main__":  # pragma: no cover
    run()
