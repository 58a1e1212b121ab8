"""Deduplication and the near-duplicate-safe split."""

from __future__ import annotations

from akarclf.text.normalize import normalize_title
from akarclf.training.datasets import Example
from akarclf.training.splits import deduplicate, group_split, near_duplicate_groups


def _ex(i: int, title: str, label: str = "other") -> Example:
    return Example(f"f:{i}", title, label, "f", "cat", "path")


def test_deduplicate_keeps_one_per_normalised_title_and_drops_conflicts() -> None:
    examples = [
        _ex(1, "Kaos Polos Hitam", "textile_fashion"),
        _ex(2, "KAOS polos hitam!!", "textile_fashion"),
        _ex(3, "Tas rotan", "crafts"),
        _ex(4, "tas rotan", "textile_fashion"),
        _ex(5, "Kopi bubuk", "culinary"),
    ]
    kept, duplicates, conflicting = deduplicate(examples)
    assert [e.uid for e in kept] == ["f:1", "f:5"]
    assert duplicates == 2
    assert conflicting == 2


def test_variants_and_rewordings_share_a_group() -> None:
    titles = [
        "kemeja batik pria lengan panjang merah",
        "kemeja batik pria lengan panjang biru",  # variant: same first five words
        "panjang lengan pria batik kemeja merah",  # same word set as the first
        "kopi bubuk arabika",
    ]
    groups = near_duplicate_groups(titles)
    assert groups[0] == groups[1] == groups[2]
    assert groups[3] != groups[0]


def test_split_never_puts_a_group_on_both_sides_and_is_reproducible() -> None:
    def word(n: int) -> str:  # digits normalise to 0, so numbers are spelled in letters
        return "".join("abcdefghij"[int(d)] for d in str(n))

    examples = []
    for i in range(400):
        base = f"produk q{word(i % 80)} warna ukuran bahan"
        examples.append(_ex(i, f"{base} varian{word(i)}", "other" if i % 80 % 2 else "culinary"))
    first = group_split(examples, test_fraction=0.25, seed=3)
    again = group_split(examples, test_fraction=0.25, seed=3)
    assert [e.uid for e in first.test] == [e.uid for e in again.test]
    prefix = lambda e: " ".join(normalize_title(e.title).split()[:5])  # noqa: E731
    assert not {prefix(e) for e in first.train} & {prefix(e) for e in first.test}
    assert first.test and first.train
    other_seed = group_split(examples, test_fraction=0.25, seed=4)
    assert [e.uid for e in other_seed.test] != [e.uid for e in first.test]
