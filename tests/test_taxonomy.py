"""The taxonomy: category path -> cluster, title rules for the paths that cannot decide, and
clear errors for a malformed taxonomy file.

Every title here is written for the test (none comes from the marketplace data). The rule
tests use the shipped ``akarclf/training/data/taxonomy.toml``, so a taxonomy edit that changes how a
hard case of ``CLUSTERS.md`` is labelled shows up here.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from akarclf.clusters import CLUSTERS
from akarclf.training.taxonomy import DROP, Mapping, Taxonomy, TaxonomyError, load_taxonomy

DEFAULT = load_taxonomy()


def _toy(**extra: object) -> dict[str, object]:
    """A small taxonomy as parsed TOML: a prefix table and one rule."""
    data: dict[str, object] = {
        "version": "test-1",
        "groups": {"soft": "rajut\\w*|flanel"},
        "rules": {
            "toy": {
                "description": "test rule",
                "steps": [["{soft}", "crafts"], ["plastik", "other"]],
                "default": "drop",
            }
        },
        "schemes": {
            "tokopedia_slug": {
                "a": "other",
                "a/b": "textile_fashion",
                "a/b/c": "@toy",
                "a/b/c/d": "drop",
            },
            "bukalapak_leaf": {"*": "other", "Kaos": "textile_fashion"},
        },
    }
    data.update(extra)
    return data


# --- path lookup ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "outcome"),
    [
        ("a", "other"),
        ("a/x", "other"),
        ("a/b", "textile_fashion"),
        ("a/b/x/y", "textile_fashion"),
        ("a/b/c", "@toy"),
        ("a/b/c/x", "@toy"),
        ("a/b/c/d", "drop"),
        ("a/b/c/d/e", "drop"),
        (" a/b ", "textile_fashion"),
    ],
)
def test_longest_prefix_wins(path: str, outcome: str) -> None:
    assert Taxonomy(_toy(), "toy").outcome_for_path("tokopedia_slug", path) == outcome


@pytest.mark.parametrize("path", ["ab", "a-b/c", "x/a", "", "b/c"])
def test_prefixes_match_whole_segments_only(path: str) -> None:
    taxonomy = Taxonomy(_toy(), "toy")
    outcome = taxonomy.outcome_for_path("tokopedia_slug", path)
    assert outcome is None
    assert taxonomy.map("tokopedia_slug", path, "Kaos Polos") == Mapping(None, "unmapped")


def test_a_longer_segment_name_does_not_match_a_shorter_prefix() -> None:
    taxonomy = Taxonomy(_toy(), "toy")
    # "a/bc" shares characters with "a/b" but not the segment: it falls back to "a".
    assert taxonomy.outcome_for_path("tokopedia_slug", "a/bc") == "other"
    assert taxonomy.outcome_for_path("tokopedia_slug", "a/b/cd") == "textile_fashion"


def test_shipped_slug_table_longest_prefix() -> None:
    slug = "tokopedia_slug"
    assert DEFAULT.outcome_for_path(slug, "rumah-tangga/dapur-lain") == "@household"
    assert DEFAULT.outcome_for_path(slug, "rumah-tangga/dekorasi/cermin") == "@decor"
    assert DEFAULT.outcome_for_path(slug, "rumah-tangga/dekorasi/taplak-meja") == (
        "textile_fashion"
    )
    # A segment that only starts like a known one is not that one.
    assert DEFAULT.outcome_for_path(slug, "rumah-tangga/dekorasi-pesta/x") == "@household"
    assert DEFAULT.outcome_for_path(slug, "fashion-muslim/perlengkapan-ibadah/sajadah") == (
        "@worship"
    )
    assert DEFAULT.outcome_for_path(slug, "fashion-muslim/gamis") == "textile_fashion"


def test_arrow_paths_split_on_the_arrow() -> None:
    arrow = "tokopedia_arrow"
    assert DEFAULT.outcome_for_path(arrow, "Elektronik > Audio > Earphone") == "other"
    assert DEFAULT.outcome_for_path(arrow, "Film Musik>Alat Musik") == "other"
    assert DEFAULT.outcome_for_path(arrow, "Elektronika > Audio") is None


def test_bukalapak_star_is_the_fallback_for_unlisted_leaves() -> None:
    leaf = "bukalapak_leaf"
    assert DEFAULT.outcome_for_path(leaf, "Kaos") == "textile_fashion"
    assert DEFAULT.outcome_for_path(leaf, "Sebuah Kategori Baru") == "other"
    assert DEFAULT.map(leaf, "Sebuah Kategori Baru", "Apa saja") == Mapping("other", "path")
    # Leaves are whole names, not prefixes: a leaf that starts like a listed one is not it.
    assert DEFAULT.outcome_for_path(leaf, "Kaos Lampu") == "other"
    assert DEFAULT.map(leaf, "Batu Bacan", "Batu cincin hijau") == Mapping(None, "path")


def test_schemes_without_star_have_no_fallback() -> None:
    assert DEFAULT.outcome_for_path("tokopedia_department", "olahraga") is None
    assert DEFAULT.map("lazada_search", "beli-kulkas", "Kulkas dua pintu") == Mapping(
        None, "unmapped"
    )


def test_unknown_scheme_is_an_error_naming_it() -> None:
    with pytest.raises(TaxonomyError, match="unknown scheme 'shopee_path'"):
        DEFAULT.outcome_for_path("shopee_path", "a/b")
    with pytest.raises(TaxonomyError, match="unknown scheme 'shopee_path'"):
        DEFAULT.map("shopee_path", "a/b", "Kaos")


def test_path_outcomes_report_their_source() -> None:
    assert DEFAULT.map("tokopedia_slug", "makanan-minuman/kue", "Nastar Nanas") == Mapping(
        "culinary", "path"
    )
    dropped = DEFAULT.map("tokopedia_slug", "mainan-hobi/kostum/x", "Kostum Pahlawan Anak")
    assert dropped == Mapping(None, "path")


# --- title rules of the shipped taxonomy ----------------------------------------------------


def _cluster(path: str, title: str, scheme: str = "tokopedia_slug") -> str | None:
    return DEFAULT.map(scheme, path, title).cluster


DECOR = "rumah-tangga/dekorasi/pajangan"


@pytest.mark.parametrize(
    ("title", "cluster"),
    [
        ("Patung Garuda Kayu Jati Ukiran Tangan Pengrajin Bali", "crafts"),
        ("Hiasan Dinding Anyaman Eceng Gondok Bulat", "crafts"),
        ("Bunga Plastik Mawar Artificial Satu Ikat", "other"),
        ("Poster Dinding Motivasi A3", "other"),
        ("Hiasan Meja Topeng Kayu Tradisional", "crafts"),
        ("Pajangan Meja Minimalis Putih", None),  # nothing decides: dropped
    ],
)
def test_decor_rule(title: str, cluster: str | None) -> None:
    mapping = DEFAULT.map("tokopedia_slug", DECOR, title)
    assert mapping == Mapping(cluster, "rule:decor")


def test_decor_rule_handmade_beats_mass_marker() -> None:
    # "lampu" is a mass marker, "rotan" a hand-made one; hand-made is tried first.
    assert _cluster(DECOR, "Kap Lampu Rotan Anyaman") == "crafts"


def test_decor_mass_rule() -> None:
    path = "rumah-tangga/dekorasi/tanaman-artificial"
    assert _cluster(path, "Tanaman Hias Palsu Daun Monstera") == "other"
    assert _cluster(path, "Bunga Rajut Dalam Pot Kecil") == "crafts"


def test_painting_rule() -> None:
    path = "rumah-tangga/dekorasi/lukisan"
    assert _cluster(path, "Lukisan Pemandangan Sawah Cat Minyak") == "crafts"
    assert _cluster(path, "Poster Kanvas Print Abstrak 40x60") == "other"


@pytest.mark.parametrize(
    ("title", "cluster"),
    [
        ("Hampers Lebaran Kue Kering Dalam Keranjang Rotan", "culinary"),  # edible wins
        ("Parsel Kopi Bubuk Dan Gula Aren", "culinary"),
        ("Kado Ulang Tahun Dompet Kulit Pria", "textile_fashion"),
        ("Kado Boneka Rajut Beruang", "crafts"),
        ("Kado Lampu Tidur Bulan", "other"),
        ("Kotak Hadiah Misteri", None),
    ],
)
def test_gift_rule(title: str, cluster: str | None) -> None:
    mapping = DEFAULT.map("tokopedia_slug", "perlengkapan-pesta/hadiah/hampers", title)
    assert mapping == Mapping(cluster, "rule:gift")


def test_gift_souvenir_rule_defaults_to_crafts() -> None:
    path = "perlengkapan-pesta/persiapan-pernikahan/souvenir-pernikahan"
    assert _cluster(path, "Souvenir Kipas Lipat Nikahan") == "crafts"
    assert _cluster(path, "Souvenir Dodol Kemasan Mini") == "culinary"
    assert _cluster(path, "Souvenir Pouch Kanvas Kecil") == "textile_fashion"
    assert _cluster(path, "Souvenir Gantungan Akrilik Custom") == "other"


WORSHIP = "fashion-muslim/perlengkapan-ibadah/lainnya"


@pytest.mark.parametrize(
    ("title", "cluster"),
    [
        ("Tasbih Kayu Kokka 33 Butir", "other"),
        ("TASBEH DIGITAL JARI", "other"),
        ("Al Quran Terjemah Ukuran Saku", "other"),
        ("Sajadah Travel Lipat Bahan Beludru", "textile_fashion"),
        ("Mukena Katun Bordir Dewasa", "textile_fashion"),
    ],
)
def test_worship_rule(title: str, cluster: str) -> None:
    assert DEFAULT.map("tokopedia_slug", WORSHIP, title) == Mapping(cluster, "rule:worship")


BAG_OR_CASE = "Tas & Case"


@pytest.mark.parametrize(
    ("title", "cluster"),
    [
        ("Tas Laptop 14 Inch Anti Air", "textile_fashion"),  # a bag, even for a laptop
        ("Ransel Kamera Mirrorless", "textile_fashion"),
        ("Hardcase Kamera Saku Anti Benturan", "other"),
        ("Cover Pelindung Tablet 10 Inch", "other"),
        ("Skin Garskin Laptop Motif Kayu", "other"),
        ("Tasbih Digital Kecil", "other"),  # "tas" is a whole word: tasbih is no bag
        ("Dudukan Tablet Meja", "other"),
    ],
)
def test_bag_or_case_rule(title: str, cluster: str) -> None:
    mapping = DEFAULT.map("bukalapak_leaf", BAG_OR_CASE, title)
    assert mapping == Mapping(cluster, "rule:bag_or_case")


@pytest.mark.parametrize(
    ("path", "title", "cluster"),
    [
        ("olahraga/lari/perlengkapan", "Sepatu Lari Pria Ringan", "textile_fashion"),
        ("olahraga/badminton/raket", "Jersey Badminton Dry Fit", "textile_fashion"),
        ("olahraga/badminton/raket", "Raket Badminton Karbon Senar", "other"),
        ("olahraga/fitness/alat", "Dumbbell Besi 5 Kg Sepasang", "other"),
        # The clothing path decides before the title rule.
        ("olahraga/pakaian-olahraga-wanita/x", "Atasan Yoga Longgar", "textile_fashion"),
        (
            "otomotif/aksesoris-pengendara-motor/x",
            "Jaket Motor Touring Anti Angin",
            "textile_fashion",
        ),
        ("otomotif/aksesoris-pengendara-motor/x", "Helm Full Face Visor Gelap", "other"),
    ],
)
def test_sport_rule(path: str, title: str, cluster: str) -> None:
    assert _cluster(path, title) == cluster


@pytest.mark.parametrize(
    ("path", "title", "cluster"),
    [
        ("rumah-tangga/kamar-tidur/sprei", "Sprei Katun Motif Bunga 160x200", "textile_fashion"),
        ("rumah-tangga/kamar-mandi/handuk", "Handuk Mandi Besar Tebal", "textile_fashion"),
        ("rumah-tangga/tempat-penyimpanan/keranjang", "Keranjang Anyaman Pandan", "crafts"),
        ("rumah-tangga/kebersihan/sapu", "Sapu Lantai Gagang Panjang", "other"),
    ],
)
def test_household_rule(path: str, title: str, cluster: str) -> None:
    assert DEFAULT.map("tokopedia_slug", path, title) == Mapping(cluster, "rule:household")


def test_household_rule_reads_department_and_bukalapak_paths_too() -> None:
    assert _cluster("rumah tangga", "Gorden Jendela Polos", "tokopedia_department") == (
        "textile_fashion"
    )
    assert _cluster("Perlengkapan Tidur", "Bantal Tidur Dakron", "bukalapak_leaf") == "other"


def test_precious_metal_rule() -> None:
    assert _cluster("logam-mulia/emas", "Cincin Emas Polos 2 Gram") == "textile_fashion"
    assert _cluster("logam-mulia/emas", "Emas Batangan 5 Gram Bersertifikat") == "other"


def test_rules_read_the_normalised_title() -> None:
    # Case, punctuation and digits do not stop a rule from matching.
    assert _cluster(WORSHIP, "TASBIH!!! 99 butir") == "other"
    assert _cluster(DECOR, "HIASAN-DINDING ... UKIRAN Jepara") == "crafts"


def test_every_shipped_outcome_is_a_cluster_drop_or_known_rule() -> None:
    for scheme, table in DEFAULT.schemes.items():
        for prefix, outcome in table.items():
            where = f"{scheme}.{prefix}"
            if outcome.startswith("@"):
                assert outcome[1:] in DEFAULT.rules, where
            else:
                assert outcome == DROP or outcome in CLUSTERS, where
    assert DEFAULT.version


# --- loading and malformed files ------------------------------------------------------------


def test_load_from_a_path_and_the_default_is_cached(tmp_path: Path) -> None:
    assert load_taxonomy() is load_taxonomy()
    path = tmp_path / "taxonomy.toml"
    path.write_text('version = "9"\n[schemes.tokopedia_slug]\n"a" = "crafts"\n', encoding="utf-8")
    loaded = load_taxonomy(path)
    assert loaded.version == "9"
    assert loaded.origin == str(path)
    assert loaded.map("tokopedia_slug", "a/b", "Apa saja") == Mapping("crafts", "path")


BROKEN = [
    (
        '[schemes.tokopedia_slug]\n"a" = "crafts"\n',
        "missing 'version'",
    ),
    (
        'version = "1"\n[schemes.tokopedia_slug]\n"a/b" = "fashion"\n',
        "schemes.tokopedia_slug.'a/b' has unknown cluster 'fashion'",
    ),
    (
        'version = "1"\n[schemes.tokopedia_slug]\n"a" = "@nope"\n',
        "schemes.tokopedia_slug.'a' names unknown rule '@nope'",
    ),
    (
        'version = "1"\n[schemes.shopee]\n"a" = "other"\n',
        "unknown scheme 'shopee'",
    ),
    (
        'version = "1"\n[rules.r]\nsteps = [["kaos(", "textile_fashion"]]\n',
        "rule 'r': bad pattern 'kaos\\('",
    ),
    (
        'version = "1"\n[rules.r]\nsteps = [["{nogroup}", "crafts"]]\n',
        "rule 'r': bad pattern '\\{nogroup\\}'",
    ),
    (
        'version = "1"\n[rules.r]\nsteps = [["kaos", "apparel"]]\n',
        "rule 'r': unknown outcome 'apparel'",
    ),
    (
        'version = "1"\n[rules.r]\nsteps = [["kaos"]]\n',
        "rule 'r': a step is \\[pattern, outcome\\]",
    ),
    (
        'version = "1"\n[rules.r]\nsteps = []\ndefault = "misc"\n',
        "rule 'r': unknown default 'misc'",
    ),
]


@pytest.mark.parametrize(("text", "message"), BROKEN)
def test_malformed_taxonomy_files_name_the_place(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "broken.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(TaxonomyError, match=re.escape(str(path)) + ": " + message):
        load_taxonomy(path)


def test_malformed_taxonomy_dict_names_its_origin() -> None:
    bad = _toy(schemes={"bukalapak_leaf": {"Kaos": "kaos"}})
    with pytest.raises(TaxonomyError, match=r"^toy-origin: .*'Kaos'.*unknown cluster 'kaos'"):
        Taxonomy(bad, "toy-origin")
