"""Undoing title disguises: each step on its own, through normalize_title, and as properties."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from akarclf.text.deobfuscate import (
    DIGITS,
    HIDDEN,
    LOOKALIKE,
    RUNS,
    SPELLED,
    SPLIT,
    collapse_runs,
    drop_hidden,
    fold_lookalikes,
    is_known_word,
    rejoin_spelled,
    rejoin_split,
    undo_digits,
)
from akarclf.text.normalize import clean_title, key_text, normalize_title

#: Known product words (Sastrawi roots or lexicon words) without doubled letters.
WORDS = ["kaos", "batik", "kopi", "sepatu", "keripik", "gamis", "rotan", "sambal", "celana"]
HIDDEN_CHARS = ["\u200b", "\u200c", "\u200d", "\u00ad", "\u2060", "\ufeff"]
CYRILLIC = str.maketrans("aeopc", "аеорс")
LEET = str.maketrans("aeio", "4310")


@pytest.mark.parametrize(
    ("raw", "expected", "steps"),
    [
        ("K4OS P0L0S H1TAM", "kaos polos hitam", {DIGITS}),
        ("k.a.o.s p.o.l.o.s", "kaos polos", {SPELLED}),
        ("k a o s  b a t i k", "kaos batik", {SPELLED}),
        ("k a o s b a t i k", "kaos batik", {SPELLED}),
        ("k\u200ba\u200bo\u200bs batik", "kaos batik", {HIDDEN}),
        ("ka\u00ados ba\u00adtik", "kaos batik", {HIDDEN}),
        ("k\u0430\u043es b\u0430tik", "kaos batik", {LOOKALIKE}),  # Cyrillic a, o
        ("KAAAAOS batik", "kaos batik", {RUNS}),
        ("ka os bat ik", "kaos batik", {SPLIT}),
    ],
)
def test_each_disguise_is_undone_and_named(raw: str, expected: str, steps: set[str]) -> None:
    cleaned = clean_title(raw)
    assert cleaned.text == expected
    assert cleaned.steps == steps


@pytest.mark.parametrize(
    "honest",
    [
        "Kaos S M L XL 250gr",  # sizes stay single letters
        "Kabel Data 3in1 USB",  # counts are not letters
        "Flashdisk 64GB 2pcs",
        "Baterai A4 Tech 8GB",  # short codes are model numbers
        "Kemeja Pria Lengan Panjang",
        "Чай зелёный 100 г",  # a genuine Russian word keeps its script
    ],
)
def test_honest_titles_are_not_flagged(honest: str) -> None:
    assert not clean_title(honest).obfuscated


def test_stretched_letters_are_not_a_disguise() -> None:
    cleaned = clean_title("Kaos murahhhh")
    assert cleaned.steps == {RUNS} and not cleaned.obfuscated


def test_digits_become_letters_only_for_known_words() -> None:
    assert undo_digits("k3r1p1k") == "keripik"
    assert undo_digits("t4s r0k") == "tas rok"  # three characters: lexicon nouns only
    assert undo_digits("4ci 8am") == "4ci 8am"
    assert undo_digits("zx81") == "zx81"
    assert undo_digits("250gr") == "250gr"


def test_spelled_runs_that_are_no_words_stay() -> None:
    assert rejoin_spelled("kaos s m l") == "kaos s m l"
    assert rejoin_spelled("s.m.l kaos") == "s.m.l kaos"


def test_split_fragments_join_only_into_a_known_word() -> None:
    assert rejoin_split(["ka", "os", "pria"]) == ["kaos", "pria"]
    assert rejoin_split(["t", "unggul"]) == ["t", "unggul"]  # a single letter is not a fragment
    assert rejoin_split(["kopi", "susu"]) == ["kopi", "susu"]  # two words stay two words


def test_title_keys_keep_their_frozen_normalisation() -> None:
    # Hand labels are keyed by key_text: it must not de-obfuscate, or old keys would move.
    assert key_text("K4OS polos") == "k 0 os polos"
    assert normalize_title("K4OS polos") == "kaos polos"
    assert key_text("Kopi Bubuk [COD] 250gr") == normalize_title("Kopi Bubuk [COD] 250gr")


def test_long_titles_keep_their_end() -> None:
    assert normalize_title("x" * 5000 + " kaos batik").endswith("kaos batik")


# --- properties ------------------------------------------------------------------------------

word = st.sampled_from(WORDS)
titles = st.lists(word, min_size=1, max_size=5)


@given(st.text(max_size=80))
def test_hidden_characters_are_gone(text: str) -> None:
    assert all(unicodedata.category(c) != "Cf" for c in drop_hidden(text))


@given(titles, st.lists(st.sampled_from(HIDDEN_CHARS), min_size=1), st.randoms())
def test_hidden_characters_change_nothing(words: list[str], hidden: list[str], rnd) -> None:  # type: ignore[no-untyped-def]
    title = " ".join(words)
    chars = list(title)
    for mark in hidden:
        chars.insert(rnd.randrange(len(chars) + 1), mark)
    assert normalize_title("".join(chars)) == normalize_title(title)


@given(titles)
def test_lookalike_letters_fold_back(words: list[str]) -> None:
    title = " ".join(words)
    assert fold_lookalikes(title.translate(CYRILLIC)) == title
    assert normalize_title(title.translate(CYRILLIC).upper()) == normalize_title(title)


@given(titles, st.sampled_from([".", "-", " ", "\u200b", "\u00ad"]))
def test_spelled_out_words_rejoin(words: list[str], separator: str) -> None:
    between = "  " if separator == " " else " "
    spelled = between.join(separator.join(w) for w in words)
    assert normalize_title(spelled) == " ".join(words)


@given(titles)
def test_leetspeak_is_undone_for_known_words(words: list[str]) -> None:
    assert normalize_title(" ".join(words).translate(LEET)) == " ".join(words)


@given(word, st.integers(min_value=0, max_value=3), st.integers(min_value=3, max_value=9))
def test_stretched_letters_collapse(w: str, position: int, times: int) -> None:
    i = position % len(w)
    assert collapse_runs(w[:i] + w[i] * times + w[i + 1 :]) == w


@given(st.text(max_size=200))
def test_normalisation_never_fails_and_is_lower_case_tokens(text: str) -> None:
    cleaned = clean_title(text)
    assert cleaned.text == cleaned.text.strip()
    assert "  " not in cleaned.text
    assert cleaned.text == normalize_title(text)


@given(st.text(alphabet="abcdefghijklmnopqrstuvwxyz ", max_size=60))
def test_known_words_are_lower_case_letters(text: str) -> None:
    for token in text.split():
        if is_known_word(token):
            assert token.isalpha() and len(token) >= 3
