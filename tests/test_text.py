"""The text pipeline: normalisation, stemming with protected words, the word analyzer."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from sklearn.base import clone

from akarclf.text.normalize import (
    MAX_TITLE_CHARS,
    NO_STEM_WORDS,
    TitleNormalizer,
    WordAnalyzer,
    _normalize_unicode,
    blank_mask,
    check_title,
    load_lexicon,
    normalize_title,
    stem_token,
)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("[READY STOCK] Keripik Singkong Balado 250gr COD!!!", "keripik singkong balado 0 gr"),
        ("Kemeja Batik Pria Lengan Panjang", "kemeja batik pria lengan panjang"),
        ("ＫＯＰＩ　ＢＵＢＵＫ 2pcs", "kopi bubuk 0 pcs"),  # full-width folded by NFKC
        ("Tas Rotan 😍😍 Bali!!!???", "tas rotan bali"),
        ("SEPATU---SNEAKERS///PRIA", "sepatu sneakers pria"),
        ("Gratis Ongkir Sambal Bawang", "sambal bawang"),
        # Phrases match token-wise, whatever separates their words.
        ("Sandal Lucu PRE-ORDER", "sandal lucu"),
        ("Topi Baseball Bisa ( COD )", "topi baseball"),
        ("Flashdisk 8GB 100% Original", "flashdisk 0 gb"),
        ("Kopi Siap-Kirim Bisa Dikirim", "kopi bisa dikirim"),
    ],
)
def test_normalize_title_folds_marketplace_noise(raw: str, expected: str) -> None:
    assert normalize_title(raw) == expected


def test_noise_words_are_removed_only_as_whole_words() -> None:
    # "cod" is noise, "codet" is not; "po" is noise, "pompa" is not
    assert normalize_title("codet pompa air COD") == "codet pompa air"
    # a phrase's words stay when they do not form the phrase
    assert normalize_title("Free Size Kemeja Siap Pakai") == "free size kemeja siap pakai"


def test_other_scripts_are_kept_as_tokens() -> None:
    assert normalize_title("Чай 中文 tea") == "чай 中文 tea"


def test_huge_titles_are_truncated_deterministically() -> None:
    huge = "kaos " * 30_000  # 150 KB
    once = normalize_title(huge)
    assert once == normalize_title(huge)
    assert len(once) <= MAX_TITLE_CHARS


@given(st.text())
def test_normalizer_never_raises_on_any_str(text: str) -> None:
    result = normalize_title(text)
    assert isinstance(result, str)
    assert result == result.strip()
    assert "  " not in result


@given(st.text(max_size=200))
def test_analyzer_never_raises_on_normalized_text(text: str) -> None:
    grams = WordAnalyzer("both", 2, load_lexicon()[1])(normalize_title(text))
    assert all(isinstance(g, str) and g for g in grams)


@pytest.mark.parametrize("bad", [None, math.nan, 12, 3.5, b"kaos", ["kaos"]])
def test_check_title_rejects_non_strings_naming_the_position(bad: object) -> None:
    with pytest.raises(TypeError, match="position 7"):
        check_title(bad, 7)


def test_transformer_names_the_position_of_a_bad_title() -> None:
    with pytest.raises(TypeError, match=r"position 1.*NoneType"):
        TitleNormalizer().fit_transform(["kaos", None])


def test_transformer_is_a_clonable_stateless_transformer() -> None:
    normalizer = clone(TitleNormalizer())
    assert normalizer.fit_transform(["Kopi  Bubuk!"]) == ["kopi bubuk"]


def test_blank_mask_marks_titles_without_words() -> None:
    mask = blank_mask(["", "   ", "😀🎉", "[COD]", "kaos polos"])
    assert mask.tolist() == [True, True, True, True, False]
    assert mask.dtype == np.bool_


def test_protected_words_are_not_stemmed() -> None:
    assert "kerajinan" in NO_STEM_WORDS
    assert stem_token("kerajinan") == "kerajinan"
    assert stem_token("bekasi") == "bekasi"


def test_ordinary_words_are_stemmed() -> None:
    assert stem_token("dijual") == "jual"
    assert stem_token("celananya") == "celana"


def test_word_analyzer_variants() -> None:
    text = normalize_title("dijual bunga")
    assert WordAnalyzer("surface", 2)(text) == ["dijual", "bunga", "dijual bunga"]
    assert WordAnalyzer("stem", 2)(text) == ["jual", "bunga", "jual bunga"]
    assert sorted(WordAnalyzer("both", 1)(text)) == ["bunga", "dijual", "~jual"]


def test_word_analyzer_rejects_unknown_variant() -> None:
    with pytest.raises(ValueError, match="features must be"):
        WordAnalyzer("lemmas")  # type: ignore[arg-type]


def test_lexicon_features_mark_product_nouns() -> None:
    _, lexicon = load_lexicon()
    grams = WordAnalyzer("surface", 1, lexicon)(normalize_title("Keranjang anyaman kopi bubuk"))
    assert grams.count("lex=crafts") == 1
    assert grams.count("lex=culinary") == 3  # "kopi", "bubuk" and the phrase "kopi bubuk"
    assert "lex=other" not in grams


def test_lexicon_entries_have_one_cluster_each() -> None:
    version, lexicon = load_lexicon()
    assert version
    assert set(lexicon.values()) == {"textile_fashion", "culinary", "crafts", "other"}


_ASCII_TITLES = st.text(alphabet=st.characters(max_codepoint=127), max_size=200) | st.lists(
    st.sampled_from(["Ready", "STOCK", "cod", "100%", "Original", "250gr", "_", "-", " ", "Kopi"]),
    max_size=12,
).map("".join)


@given(_ASCII_TITLES)
def test_the_ascii_shortcut_gives_the_general_result(title: str) -> None:
    assert normalize_title(title) == _normalize_unicode(title)


def test_the_ascii_shortcut_is_taken_only_for_ascii() -> None:
    # Full-width digits and letters need NFKC; the general path folds them.
    assert normalize_title("ＫＯＰＩ ２５０ｇｒ") == "kopi 0 gr"
    assert normalize_title("KOPI 250gr") == "kopi 0 gr"
