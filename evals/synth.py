"""A deterministic synthetic news archive for benchmarks: realistic-looking articles of any size."""

from __future__ import annotations

import random
from datetime import date, timedelta
from pathlib import Path

PEOPLE = [
    "Amira Haddad",
    "John Whitfield",
    "Li Wei",
    "Farid Karimi",
    "Sofia Marquez",
    "Omar Nasser",
    "Elena Petrova",
    "Daniel Okafor",
    "Hannah Brooks",
    "Yusuf Demir",
    "Maria Rossi",
    "Kenji Tanaka",
    "Layla Mansour",
    "Peter Lund",
]
PLACES = [
    "Baghdad",
    "Basra",
    "Mosul",
    "Erbil",
    "Amman",
    "Beirut",
    "Damascus",
    "Tehran",
    "Ankara",
    "Cairo",
    "Riyadh",
    "Doha",
    "Kuwait City",
    "Kirkuk",
    "Najaf",
    "Sulaymaniyah",
    "Aleppo",
    "Tripoli",
    "Muscat",
    "Manama",
]
ORGS = [
    "the finance ministry",
    "the central bank",
    "the electoral commission",
    "the oil ministry",
    "a UN agency",
    "the parliament",
    "the national security council",
    "a regional court",
    "the health ministry",
    "a farmers' union",
    "the port authority",
    "the state broadcaster",
    "an opposition bloc",
    "a trade council",
]
TOPICS = [
    ("oil exports", "barrels a day"),
    ("electricity supply", "megawatts"),
    ("wheat harvest", "tonnes"),
    ("budget deficit", "billion dinars"),
    ("refugee returns", "families"),
    ("water shortages", "cubic metres"),
    ("road reconstruction", "kilometres"),
    ("vaccination drive", "doses"),
    ("port traffic", "containers"),
    ("border trade", "trucks a week"),
    ("teacher salaries", "schools"),
    ("housing project", "apartments"),
]
VERBS = ["said", "told reporters", "announced", "warned", "confirmed", "insisted", "acknowledged", "estimated"]
TEMPLATES = [
    "{person}, a spokesperson for {org}, {verb} that {topic} in {place} had reached {n:,} {unit}.",
    "Officials in {place} {verb} on {weekday} that {topic} would be reviewed by {org} before {month}.",
    "According to {org}, {topic} fell by {pct} percent in {place} over the past {k} months.",
    "{person} {verb} that talks with {org} about {topic} were \u201cmaking slow progress\u201d.",
    "The plan, backed by {org}, aims to add {n:,} {unit} in {place} by {year}.",
    "Critics in {place} said the figures on {topic} published by {org} could not be verified.",
    "In {month}, {org} {verb} a review of {topic} after protests in {place}.",
    "{person} {verb} that {place} would need about {n:,} {unit} to meet demand this year.",
    "A report by {org} found that {pct} percent of households in {place} were affected by {topic}.",
    "Residents of {place} told local media that {topic} had improved since {month}.",
]
WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
MONTHS = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]


def article(rng: random.Random, i: int) -> tuple[str, str]:
    """(file name, text) of one synthetic article: headline, date line, 8-14 sentences."""
    topic, unit = rng.choice(TOPICS)
    place = rng.choice(PLACES)
    day = date(2024, 1, 1) + timedelta(days=rng.randrange(700))
    headline = f"{place} {rng.choice(['debates', 'reviews', 'expands', 'struggles with', 'reports on'])} {topic}"
    sentences = []
    for _ in range(rng.randint(8, 14)):
        tpl = rng.choice(TEMPLATES)
        sentences.append(
            tpl.format(
                person=rng.choice(PEOPLE),
                org=rng.choice(ORGS),
                verb=rng.choice(VERBS),
                topic=topic,
                place=rng.choice([place, place, rng.choice(PLACES)]),
                n=rng.randrange(100, 900_000),
                unit=unit,
                weekday=rng.choice(WEEKDAYS),
                month=rng.choice(MONTHS),
                pct=rng.randint(2, 60),
                k=rng.randint(2, 18),
                year=rng.randint(2025, 2030),
            )
        )
    paragraphs = [" ".join(sentences[j : j + 3]) for j in range(0, len(sentences), 3)]
    text = f"{headline}\n{day:%B} {day.day}, {day.year}\n" + "\n".join(paragraphs) + "\n"
    return f"synth_{i:06d}.txt", text


def write_archive(folder: Path, n_articles: int, seed: int = 0) -> list[Path]:
    """Write n synthetic articles into folder (same seed, same archive)."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    paths = []
    for i in range(n_articles):
        name, text = article(rng, i)
        path = folder / name
        path.write_text(text, encoding="utf-8")
        paths.append(path)
    return paths


def queries(texts: list[str], n: int, seed: int = 1) -> list[str]:
    """Questions made from random passages: a few words of a sentence turned into a question."""
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        words = rng.choice(texts).split()
        start = rng.randrange(max(1, len(words) - 8))
        out.append("What about " + " ".join(words[start : start + 8]).strip(".,\u201c\u201d") + "?")
    return out
