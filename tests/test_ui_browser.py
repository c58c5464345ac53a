"""The chat page in a real headless Chromium (Playwright), against a server with the fake models."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from index.build import build_index
from index.embed import make_embedder
from rag.llm import FakeGenerator
from rag.pipeline import Pipeline
from rag.settings import PROJECT_ROOT, Settings
from ui.server import BackgroundServer, create_server

if TYPE_CHECKING:
    from playwright.sync_api import Locator, Page

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
OUT = PROJECT_ROOT / "test-output"
FIGHTERS = "How many fighters does the Islamic Resistance in Iraq command?"
REPLY = "The Islamic Resistance in Iraq commands about 50,000 fighters."
OFF_TOPIC = ("What is the population of Baghdad?", "Who won the 1998 football World Cup final?")
WAIT = 20_000  # ms
GENERATOR = FakeGenerator(default=REPLY)

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not CHROMIUM.is_file(), reason="needs Chromium at /usr/bin/chromium (apt-get install -y chromium)"
    ),
]


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[BackgroundServer, str]]:
    """A live server on a free loopback port (using GENERATOR), and a question its pipeline abstains on."""
    data_dir = tmp_path_factory.mktemp("browser") / "data"
    settings = Settings.from_env({}, data_dir=data_dir, seeds_dir=PROJECT_ROOT / "seeds", embedder="fake", llm="fake")
    build_index(settings, make_embedder(settings))
    probe = Pipeline(settings, generator=FakeGenerator())
    off_topic = next((q for q in OFF_TOPIC if probe.ask(q).abstained), None)
    assert off_topic, f"none of {OFF_TOPIC} abstains"
    with BackgroundServer(create_server(settings, lambda s: Pipeline(s, generator=GENERATOR))) as server:
        yield server, off_topic


@pytest.fixture(scope="module")
def page(served: tuple[BackgroundServer, str]) -> Iterator[Page]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        page = browser.new_page(viewport={"width": 1200, "height": 1300})
        page.set_default_timeout(WAIT)
        page.goto(served[0].url + "/")
        page.wait_for_selector("#rag-question textarea")
        yield page
        browser.close()


def ask(page: Page, question: str) -> Locator:
    """Ask in the chat and return the locator of the new final answer."""
    answers = page.locator("#rag-chat .rag-answer")
    before = answers.count()
    page.fill("#rag-question textarea", question)
    page.click("#rag-ask")
    page.wait_for_function(
        "n => document.querySelectorAll('#rag-chat .rag-answer').length > n", arg=before, timeout=WAIT
    )
    return answers.nth(before)


def test_answer_citations_and_source_view(page: Page) -> None:
    page.get_by_text("Ask a question about the news articles").wait_for()  # examples on the empty chat
    # The examples are drawn from the archive itself (its newest headlines), not written for the seeds.
    assert page.locator("#rag-chat").get_by_text("What does the article “").count() >= 1
    prompts = len(GENERATOR.history)
    answer = ask(page, FIGHTERS)
    assert len(GENERATOR.history) == prompts + 1  # the page uses the pipeline the server was given
    card = answer.locator(".rag-card").filter(has_text="50,000 fighters").first
    assert "50,000 fighters" in card.locator("mark").inner_text()
    assert answer.locator(".rag-ref").first.inner_text() == "[1]"
    assert page.input_value("#rag-question textarea") == ""

    page.locator("#rag-source input").click()
    page.get_by_role("option", name=re.compile(r"^Q1 \[1\]")).first.click()
    page.click("#rag-open")
    mark = page.locator("#rag-article mark")
    mark.wait_for()
    assert "collectively command about 50,000 fighters" in mark.inner_text()
    assert "Several of the Iranian-backed militias" in page.locator("#rag-article").inner_text()
    OUT.mkdir(exist_ok=True)
    page.screenshot(path=str(OUT / "chat.png"), full_page=True)


def test_settings_say_what_each_backend_answers_with(page: Page) -> None:
    page.locator("#rag-settings").get_by_text("Settings").first.click()
    info = page.locator("#rag-llm").get_by_text("the reader's short answer and the quotes")
    info.wait_for()
    assert "no model wording" in info.inner_text()  # the default: the 135M model is not asked


def test_abstention_is_styled_differently(page: Page, served: tuple[BackgroundServer, str]) -> None:
    answer = ask(page, served[1])
    assert "rag-abstain" in (answer.get_attribute("class") or "")
    text = answer.inner_text()
    assert "The articles don" in text and "CLOSEST PASSAGES" in text.upper()
    style = answer.evaluate("e => getComputedStyle(e).borderTopStyle")
    assert style == "dashed" and answer.locator(".rag-ref").count() == 0
    OUT.mkdir(exist_ok=True)
    page.screenshot(path=str(OUT / "chat-abstain.png"), full_page=True)


def test_uploaded_file_is_cited(page: Page, tmp_path: Path) -> None:
    note = tmp_path / "basra.txt"
    note.write_text("Basra port reopens\n\nThe Basra port reopened on Monday after repairs.\n")
    page.get_by_role("tab", name="Documents").click()
    page.set_input_files("#rag-upload input[type=file]", str(note))
    page.locator("#rag-upload").get_by_text("basra.txt").first.wait_for()
    page.click("#rag-add")
    page.locator("#rag-docs-message").get_by_text("Added basra.txt").wait_for()
    # The demo articles step aside once the archive has an article of its own.
    message = page.locator("#rag-docs-message").inner_text()
    assert "1 article (" in message and "demo articles are set aside" in message
    page.locator("#rag-docs").get_by_text("Basra port reopens").filter(visible=True).first.wait_for()

    page.get_by_role("tab", name="Chat").click()
    answer = ask(page, "When did the Basra port reopen?")
    card = answer.locator(".rag-card").filter(has_text="Basra port reopens").first
    assert "The Basra port reopened on Monday after repairs." in card.locator("mark").inner_text()
    OUT.mkdir(exist_ok=True)
    page.screenshot(path=str(OUT / "chat-upload.png"), full_page=True)

    page.click("#rag-clear")
    page.get_by_text("Ask a question about the news articles").wait_for()
    assert page.locator("#rag-chat .rag-answer").count() == 0
