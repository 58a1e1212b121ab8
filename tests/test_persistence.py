"""Model files: round trip, metadata, integrity, version policy, trusted types, cache, threads.

The models here are fitted on a couple of dozen titles written for these tests; they are tiny,
so every test runs in well under a second once the stemmer is loaded.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import pickle
import re
import threading
import time
import warnings
import zipfile
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import sklearn
import skops.io
from sklearn.calibration import CalibratedClassifierCV
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.frozen import FrozenEstimator
from sklearn.linear_model import LogisticRegression, SGDClassifier
from sklearn.pipeline import FeatureUnion, Pipeline
from sklearn.svm import LinearSVC

from akarclf._version import __version__
from akarclf.model import features, persistence
from akarclf.model.errors import (
    IncompatibleModelError,
    ModelFileError,
    ModelIntegrityError,
    ModelNotFoundError,
    ModelVersionWarning,
    NotAModelError,
    TextDataWarning,
    UntrustedTypeError,
)
from akarclf.model.persistence import (
    TRAIN_COMMAND,
    TRUSTED_TYPES,
    clear_model_cache,
    load_model,
    read_metadata,
    save_model,
)
from akarclf.text.normalize import TitleNormalizer, WordAnalyzer

# Titles written for these tests (not taken from any data set), six per cluster.
TRAIN = {
    "textile_fashion": [
        "Kain Batik Tulis Motif Parang Solo",
        "kemeja batik pria lengan panjang katun",
        "Sarung Tenun Ikat Sumba asli",
        "kebaya brokat modern wanita",
        "selendang songket palembang benang emas",
        "Hijab segi empat voal motif bunga",
    ],
    "culinary": [
        "Sambal Bawang Pedas 250gr",
        "kopi arabika gayo bubuk 200 gram",
        "keripik singkong balado renyah",
        "rendang daging sapi kemasan kaleng",
        "dodol garut rasa durian",
        "gula aren cair organik 500ml",
    ],
    "crafts": [
        "anyaman rotan keranjang serbaguna",
        "ukiran kayu jati jepara hiasan dinding",
        "gerabah kasongan vas bunga tanah liat",
        "wayang kulit purwa tatahan tangan",
        "tas anyaman pandan handmade",
        "topeng kayu cirebon lukis tangan",
    ],
    "other": [
        "Charger HP fast charging 33W type C",
        "kabel data usb micro 1 meter",
        "mouse wireless silent click",
        "powerbank 10000mah slim",
        "botol minum plastik 1 liter",
        "obeng set 24 in 1 magnetik",
    ],
}
TITLES = [t for titles in TRAIN.values() for t in titles]
LABELS = [c for c, titles in TRAIN.items() for _ in titles]
PROBE = [
    "batik cap pekalongan kain katun",
    "keripik pisang coklat",
    "keranjang rotan kecil",
    "kabel charger iphone",
    "",
]
METADATA = {"training_data_sha256": "0" * 64, "metrics": {"macro_f1": np.float64(0.75)}}


def _features() -> FeatureUnion:
    return FeatureUnion(
        [
            ("word", TfidfVectorizer(analyzer=WordAnalyzer("both", 2), sublinear_tf=True)),
            ("char", TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 4), sublinear_tf=True)),
        ]
    )


def _pipeline(classifier: Any) -> Pipeline:
    return Pipeline(
        [("norm", TitleNormalizer()), ("features", _features()), ("clf", classifier)]
    ).fit(TITLES, LABELS)


def _frozen_pipeline() -> Pipeline:
    features = Pipeline([("norm", TitleNormalizer()), ("features", _features())]).fit(TITLES)
    matrix = features.transform(TITLES)
    scorer = LogisticRegression().fit(matrix, LABELS)
    calibrated = CalibratedClassifierCV(FrozenEstimator(scorer)).fit(matrix, LABELS)
    return Pipeline([*features.steps, ("clf", calibrated)])


@pytest.fixture(scope="module")
def pipeline() -> Pipeline:
    return _pipeline(CalibratedClassifierCV(LinearSVC(), cv=3))


@pytest.fixture
def saved(tmp_path: Path, pipeline: Pipeline) -> Path:
    return save_model(pipeline, tmp_path / "model.akarclf", metadata=METADATA)


@pytest.fixture(autouse=True)
def _fresh_cache() -> Any:
    clear_model_cache()
    yield
    clear_model_cache()


def _entries(path: Path) -> tuple[dict[str, Any], bytes]:
    with zipfile.ZipFile(path) as archive:
        return json.loads(archive.read("metadata.json")), archive.read("model.skops")


def _rewrite(path: Path, metadata: dict[str, Any], payload: bytes, *, rehash: bool) -> None:
    """Write a container by hand; with ``rehash`` its digests are valid for its content."""
    metadata = dict(metadata)
    if rehash:
        metadata["payload_sha256"] = hashlib.sha256(payload).hexdigest()
        digest = persistence._digest_start(metadata)
        digest.update(payload)
        metadata["sha256"] = digest.hexdigest()
    persistence._write_container(path, metadata, payload)


def _raises(exc_type: type[Exception], *words: str) -> Callable[[Callable[[], Any]], str]:
    """Run a call, check it raises exactly ``exc_type`` with every word in its message."""

    def check(call: Callable[[], Any]) -> str:
        with pytest.raises(exc_type) as info:
            call()
        assert type(info.value) is exc_type, f"raised {type(info.value).__name__}: {info.value}"
        message = str(info.value)
        for word in words:
            assert word.lower() in message.lower(), f"{word!r} not in {message!r}"
        return message

    return check


# -- round trip and metadata ------------------------------------------------------------------


def test_round_trip_predicts_identically(saved: Path, pipeline: Pipeline) -> None:
    loaded = load_model(saved)
    assert loaded is not pipeline
    np.testing.assert_array_equal(loaded.predict(PROBE), pipeline.predict(PROBE))
    np.testing.assert_array_equal(loaded.predict_proba(PROBE), pipeline.predict_proba(PROBE))
    for (_, original), (_, restored) in zip(
        pipeline.named_steps["features"].transformer_list,
        loaded.named_steps["features"].transformer_list,
        strict=True,
    ):
        assert restored.vocabulary_ == original.vocabulary_
    assert loaded.named_steps["features"].transformer_list[0][1].analyzer == WordAnalyzer("both", 2)


def test_vocabulary_is_stored_packed_and_the_model_left_alone(tmp_path: Path) -> None:
    from akarclf.model.classifier import ClusterClassifier

    model = ClusterClassifier(calibration_folds=3).fit(TITLES, LABELS)
    vectorizers = [v for _, v in model.features_.transformer_list]
    before = [dict(v.vocabulary_) for v in vectorizers]
    _, payload = _entries(save_model(model, tmp_path / "cc.akarclf"))
    with zipfile.ZipFile(io.BytesIO(payload)) as inner:
        schema = inner.read("schema.json").decode()
    assert schema.count(features.PACKED_VOCABULARY) == len(vectorizers)
    assert '"vocabulary_"' not in schema
    assert '"kasongan"' not in schema  # a dict would be JSON with the terms as keys
    # Packing happens in the saved state: the caller's vectorizers keep their dicts.
    assert [v.vocabulary_ for v in vectorizers] == before
    assert all(features.PACKED_VOCABULARY not in vars(v) for v in vectorizers)
    loaded = load_model(tmp_path / "cc.akarclf")
    assert [v.vocabulary_ for _, v in loaded.features_.transformer_list] == before


def test_metadata_is_written_verified_and_attached(saved: Path, pipeline: Pipeline) -> None:
    metadata = read_metadata(saved)
    assert metadata["format"] == "akarclf-model"
    assert metadata["format_version"] == persistence.FORMAT_VERSION
    assert metadata["akarclf_version"] == __version__
    assert metadata["sklearn_version"] == sklearn.__version__
    assert metadata["numpy_version"] == np.__version__
    assert metadata["skops_version"] == skops.__version__
    assert metadata["labels"] == [str(c) for c in pipeline.classes_]
    assert metadata["model_type"] == "sklearn.pipeline.Pipeline"
    assert metadata["training_data_sha256"] == "0" * 64
    assert metadata["metrics"] == {"macro_f1": 0.75}
    created = datetime.fromisoformat(metadata["created_at"])
    assert created.utcoffset() == timedelta(0)
    assert abs(datetime.now(UTC) - created) < timedelta(minutes=5)
    assert re.fullmatch(r"[0-9a-f]{64}", metadata["sha256"])
    assert re.fullmatch(r"\d{8}-" + metadata["payload_sha256"][:12], metadata["model_version"])
    assert metadata["text_data"] == persistence.text_data_versions()
    assert set(metadata["text_data"]) >= {"lexicon.toml", "no_stem.txt", "noise_words.txt"}
    assert load_model(saved).metadata_ == metadata


def test_caller_metadata_cannot_override_what_save_model_records(
    tmp_path: Path, pipeline: Pipeline
) -> None:
    path = save_model(
        pipeline,
        tmp_path / "m.akarclf",
        metadata={"sklearn_version": "0.1", "sha256": "x", "model_version": "v7"},
    )
    metadata = read_metadata(path)
    assert metadata["sklearn_version"] == sklearn.__version__
    assert metadata["model_version"] == "v7"
    assert metadata["sha256"] != "x"


def test_metadata_that_is_not_json_is_refused_before_writing(
    tmp_path: Path, pipeline: Pipeline
) -> None:
    target = tmp_path / "m.akarclf"
    with pytest.raises(TypeError, match=r"JSON-serialisable.*object"):
        save_model(pipeline, target, metadata={"bad": object()})
    assert not target.exists()


def test_cluster_classifier_round_trip(tmp_path: Path) -> None:
    from akarclf.model.classifier import ClusterClassifier

    model = ClusterClassifier(calibration_folds=3).fit(TITLES, LABELS)
    path = save_model(model, tmp_path / "cc.akarclf", metadata={})
    loaded = load_model(path, expected_type=ClusterClassifier)
    np.testing.assert_array_equal(loaded.predict_proba(PROBE), model.predict_proba(PROBE))
    assert loaded.model_version == read_metadata(path)["model_version"]
    assert loaded.explain(PROBE[0]) == model.explain(PROBE[0])


@pytest.mark.parametrize(
    "make",
    [
        lambda: _pipeline(CalibratedClassifierCV(LogisticRegression(), cv=3)),
        lambda: _pipeline(CalibratedClassifierCV(SGDClassifier(random_state=0), cv=3)),
        lambda: _pipeline(CalibratedClassifierCV(LinearSVC(), cv=3, method="isotonic")),
        _frozen_pipeline,
    ],
    ids=["logistic", "sgd", "isotonic", "frozen"],
)
def test_trusted_types_cover_the_supported_classifiers(
    tmp_path: Path, make: Callable[[], Pipeline]
) -> None:
    model = make()
    needed = skops.io.get_untrusted_types(data=skops.io.dumps(model))
    assert set(needed) <= set(TRUSTED_TYPES), set(needed) - set(TRUSTED_TYPES)
    loaded = load_model(save_model(model, tmp_path / "m.akarclf", metadata={}))
    np.testing.assert_array_equal(loaded.predict_proba(PROBE), model.predict_proba(PROBE))


def test_trusted_types_are_specific() -> None:
    for name in TRUSTED_TYPES:
        assert name.startswith(("akarclf.", "sklearn.")), name
        assert not name.startswith("builtins."), name


# -- integrity --------------------------------------------------------------------------------


def test_a_flipped_payload_byte_is_an_integrity_error(saved: Path) -> None:
    data = bytearray(saved.read_bytes())
    _, payload = _entries(saved)
    where = bytes(data).index(payload[len(payload) // 2 : len(payload) // 2 + 64])
    data[where] ^= 0xFF
    saved.write_bytes(bytes(data))
    _raises(ModelIntegrityError, str(saved), "damaged", "akarclf train")(lambda: load_model(saved))


def test_a_payload_swapped_with_valid_zip_checksums_fails_the_sha256(
    saved: Path, tmp_path: Path
) -> None:
    metadata, _ = _entries(saved)
    other = _pipeline(CalibratedClassifierCV(LogisticRegression(), cv=3))
    other_payload = skops.io.dumps(other)
    _rewrite(saved, metadata, other_payload, rehash=False)
    _raises(ModelIntegrityError, "payload does not match its SHA-256")(lambda: load_model(saved))


def test_edited_metadata_fails_the_sha256(saved: Path) -> None:
    metadata, payload = _entries(saved)
    metadata["metrics"] = {"macro_f1": 0.99}
    _rewrite(saved, metadata, payload, rehash=False)
    _raises(ModelIntegrityError, "metadata does not match", "modified")(lambda: load_model(saved))


def test_an_extra_entry_is_refused(saved: Path) -> None:
    with zipfile.ZipFile(saved, "a") as archive:
        archive.writestr("extra.py", b"print('hi')")
    _raises(ModelIntegrityError, "unexpected entries", "extra.py")(lambda: load_model(saved))


@pytest.mark.parametrize("keep", [0.5, 0.999], ids=["half", "tail-cut"])
def test_a_truncated_file_is_an_integrity_error(saved: Path, keep: float) -> None:
    data = saved.read_bytes()
    saved.write_bytes(data[: int(len(data) * keep)])
    _raises(ModelIntegrityError, str(saved), "truncated", "copy the file again")(
        lambda: load_model(saved)
    )


# -- not a model ------------------------------------------------------------------------------


def _zip_of(entries: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content in entries.items():
            archive.writestr(name, content)
    return buffer.getvalue()


NOT_MODELS = {
    "random-bytes": (np.random.default_rng(0).bytes(4096), "not an akarclf model"),
    "text": (b"title,label\nkain batik,textile_fashion\n", "not an akarclf model"),
    "empty": (b"", "empty"),
    "pickle": (pickle.dumps({"a": 1}), "pickle"),
    "other-zip": (_zip_of({"readme.txt": b"hello"}), "not an akarclf model"),
    "wrong-format": (
        _zip_of({"metadata.json": b'{"format": "other"}', "model.skops": b"x"}),
        "not an akarclf model",
    ),
    "metadata-not-json": (
        _zip_of({"metadata.json": b"\xff\xfe", "model.skops": b"x"}),
        "not JSON",
    ),
}


@pytest.mark.parametrize("content,words", NOT_MODELS.values(), ids=NOT_MODELS.keys())
def test_a_file_that_is_not_a_model_says_so(tmp_path: Path, content: bytes, words: str) -> None:
    path = tmp_path / "thing.akarclf"
    path.write_bytes(content)
    _raises(NotAModelError, str(path), words)(lambda: load_model(path))


def test_a_bare_skops_file_is_not_a_model(tmp_path: Path, pipeline: Pipeline) -> None:
    path = tmp_path / "bare.skops"
    skops.io.dump(pipeline, path)
    _raises(NotAModelError, "bare skops file", "not an akarclf model")(lambda: load_model(path))


def test_a_directory_is_not_a_model(tmp_path: Path) -> None:
    _raises(NotAModelError, "directory")(lambda: load_model(tmp_path))


def test_a_missing_file_says_how_to_train_one(tmp_path: Path) -> None:
    path = tmp_path / "nope.akarclf"
    message = _raises(ModelNotFoundError, "not found", TRAIN_COMMAND)(lambda: load_model(path))
    assert str(path) in message
    with pytest.raises(FileNotFoundError):  # callers catching the builtin still work
        load_model(path)
    with pytest.raises(ModelFileError):
        load_model(path)


def test_a_model_of_another_type_is_refused_when_a_type_is_expected(saved: Path) -> None:
    from akarclf.model.classifier import ClusterClassifier

    _raises(NotAModelError, "holds a sklearn.pipeline.Pipeline", "expected", "ClusterClassifier")(
        lambda: load_model(saved, expected_type=ClusterClassifier)
    )


# -- version policy ---------------------------------------------------------------------------


def test_another_format_version_is_incompatible(saved: Path) -> None:
    metadata, payload = _entries(saved)
    _rewrite(saved, {**metadata, "format_version": 3}, payload, rehash=True)
    _raises(IncompatibleModelError, "format version 3", "reads only format versions 1, 2")(
        lambda: load_model(saved)
    )


def test_another_scikit_learn_minor_is_refused_unless_allowed(saved: Path) -> None:
    metadata, payload = _entries(saved)
    _rewrite(saved, {**metadata, "sklearn_version": "1.0.2"}, payload, rehash=True)
    _raises(IncompatibleModelError, "scikit-learn 1.0.2", sklearn.__version__, "retrain")(
        lambda: load_model(saved)
    )
    with pytest.warns(ModelVersionWarning, match="scikit-learn 1.0.2"):
        model = load_model(saved, allow_version_mismatch=True)
    assert model.predict(PROBE).shape == (len(PROBE),)
    # The cached model is not handed to a caller that did not allow the mismatch.
    _raises(IncompatibleModelError, "scikit-learn 1.0.2")(lambda: load_model(saved))


def test_a_scikit_learn_patch_difference_loads(saved: Path) -> None:
    metadata, payload = _entries(saved)
    major, minor = sklearn.__version__.split(".")[:2]
    _rewrite(saved, {**metadata, "sklearn_version": f"{major}.{minor}.99"}, payload, rehash=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert load_model(saved).predict(PROBE).shape == (len(PROBE),)


def test_another_akarclf_version_warns(saved: Path) -> None:
    metadata, payload = _entries(saved)
    _rewrite(saved, {**metadata, "akarclf_version": "0.0.1"}, payload, rehash=True)
    with pytest.warns(ModelVersionWarning, match="akarclf 0.0.1"):
        load_model(saved)


def test_an_undecodable_payload_with_valid_digests_is_a_clear_error(saved: Path) -> None:
    metadata, _ = _entries(saved)
    _rewrite(saved, metadata, _zip_of({"schema.json": b"{}"}), rehash=True)
    _raises(IncompatibleModelError, "could not be rebuilt", "skops")(lambda: load_model(saved))


def test_a_malformed_packed_vocabulary_is_refused(
    saved: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from akarclf.model.classifier import ClusterClassifier

    model = ClusterClassifier(calibration_folds=3).fit(TITLES, LABELS)
    pack = features.pack

    def reversed_offsets(vocabulary: object) -> Any:
        packed = pack(vocabulary)
        assert packed is not None
        return {**packed, "offsets": packed["offsets"][::-1].copy()}

    monkeypatch.setattr(features, "pack", reversed_offsets)
    payload = skops.io.dumps(model)
    monkeypatch.undo()
    metadata, _ = _entries(saved)
    _rewrite(saved, metadata, payload, rehash=True)
    _raises(ModelIntegrityError, "packed TF-IDF vocabulary", "malformed")(lambda: load_model(saved))


def _as_format_1(path: Path) -> None:
    """Rewrite a saved model as akarclf 0.1 wrote it: format 1, no text data record, and its
    classes named by the modules they lived in before the package split."""
    metadata, payload = _entries(path)
    old_names = {new: old for old, new in persistence._MOVED_MODULES.items()}
    with zipfile.ZipFile(io.BytesIO(payload)) as archive:
        schema = archive.read("schema.json").decode()
        for new, old in old_names.items():
            schema = schema.replace(f'"{new}"', f'"{old}"')
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as renamed:
            for info in archive.infolist():
                data = archive.read(info)
                renamed.writestr(info.filename, schema if info.filename == "schema.json" else data)
    metadata = {k: v for k, v in metadata.items() if k != "text_data"}
    metadata.update(format_version=1, model_type="akarclf.model.ClusterClassifier")
    _rewrite(path, metadata, out.getvalue(), rehash=True)


def test_a_format_1_model_loads_with_its_moved_classes(tmp_path: Path) -> None:
    from akarclf.model.classifier import ClusterClassifier

    model = ClusterClassifier(calibration_folds=3).fit(TITLES, LABELS)
    path = save_model(model, tmp_path / "old.akarclf")
    _as_format_1(path)
    metadata, payload = _entries(path)
    assert metadata["format_version"] == 1
    assert b"akarclf.model.classifier" not in zipfile.ZipFile(io.BytesIO(payload)).read(
        "schema.json"
    )
    loaded = load_model(path, expected_type=ClusterClassifier)
    np.testing.assert_array_equal(loaded.predict_proba(TITLES), model.predict_proba(TITLES))
    assert all(isinstance(v.vocabulary_, dict) for _, v in loaded.features_.transformer_list)


def test_text_data_that_differ_from_the_model_s_warn_naming_the_file(saved: Path) -> None:
    metadata, payload = _entries(saved)
    recorded = {**metadata["text_data"], "noise_words.txt": "0" * 64}
    _rewrite(saved, {**metadata, "text_data": recorded}, payload, rehash=True)
    with pytest.warns(TextDataWarning, match=r"noise_words\.txt.*retrain"):
        load_model(saved)


# -- trusted types ----------------------------------------------------------------------------


class Sneaky:
    """A class outside TRUSTED_TYPES; ``built`` counts how often it was ever rebuilt."""

    built = 0

    def __init__(self) -> None:
        self.payload = "anything"

    def __setstate__(self, state: dict[str, Any]) -> None:
        type(self).built += 1
        self.__dict__.update(state)


def test_save_model_refuses_a_model_it_could_not_load_back(
    tmp_path: Path, pipeline: Pipeline
) -> None:
    target = tmp_path / "m.akarclf"
    with pytest.raises(TypeError, match=r"would refuse.*Sneaky"):
        save_model({"model": pipeline, "extra": Sneaky()}, target, metadata={})
    assert not target.exists()
    assert [p.name for p in tmp_path.iterdir()] == []  # no temporary file left behind


@pytest.mark.parametrize(
    "extra,name",
    [(Sneaky(), "test_persistence.Sneaky"), (os.system, "system")],
    ids=["class", "function"],
)
def test_untrusted_types_in_a_file_are_refused_by_name(
    saved: Path, pipeline: Pipeline, extra: object, name: str
) -> None:
    metadata, _ = _entries(saved)
    payload = skops.io.dumps({"model": pipeline, "extra": extra})
    _rewrite(saved, metadata, payload, rehash=True)
    before = Sneaky.built
    message = _raises(UntrustedTypeError, "refused to load untrusted types", name)(
        lambda: load_model(saved)
    )
    assert str(saved) in message
    assert Sneaky.built == before


# -- writing ----------------------------------------------------------------------------------


def test_save_replaces_atomically_and_leaves_no_temporary_files(
    tmp_path: Path, pipeline: Pipeline
) -> None:
    target = tmp_path / "deep" / "dir" / "m.akarclf"
    save_model(pipeline, target, metadata={"run": 1})
    save_model(pipeline, target, metadata={"run": 2})
    assert read_metadata(target)["run"] == 2
    assert [p.name for p in target.parent.iterdir()] == ["m.akarclf"]


def test_a_failed_save_keeps_the_previous_file(saved: Path, pipeline: Pipeline) -> None:
    before = saved.read_bytes()
    with pytest.raises(TypeError):
        save_model({"model": pipeline, "extra": Sneaky()}, saved, metadata={})
    assert saved.read_bytes() == before


# -- default model ----------------------------------------------------------------------------


def test_the_default_candidates_are_package_data_then_the_checkout() -> None:
    candidates = persistence._default_candidates()
    assert candidates[0].parts[-3:] == ("akarclf", "_default_model", "akarclf-default.akarclf")
    repo = Path(__file__).resolve().parents[1]
    assert candidates[-1] == repo / "models" / "akarclf-default.akarclf"


def test_load_model_without_a_path_loads_the_first_default_that_exists(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, saved: Path
) -> None:
    missing = tmp_path / "packaged" / "akarclf-default.akarclf"
    monkeypatch.setattr(persistence, "_default_candidates", lambda: [missing, saved])
    assert load_model() is load_model(saved)


def test_a_missing_default_model_says_how_to_train_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(persistence, "_default_candidates", lambda: [tmp_path / "x.akarclf"])
    message = _raises(ModelNotFoundError, "default model is not installed", TRAIN_COMMAND)(
        load_model
    )
    assert str(tmp_path / "x.akarclf") in message


# -- cache and threads ------------------------------------------------------------------------


def test_the_cache_returns_one_object_until_the_file_changes(
    saved: Path, pipeline: Pipeline
) -> None:
    first = load_model(saved)
    assert load_model(saved) is first
    assert load_model(str(saved.parent / ".." / saved.parent.name / saved.name)) is first
    assert load_model(saved, cache=False) is not first
    save_model(pipeline, saved, metadata={"run": "second"})
    second = load_model(saved)
    assert second is not first
    assert second.metadata_["run"] == "second"
    clear_model_cache()
    assert load_model(saved) is not second


def test_concurrent_loads_deserialise_once_and_share_one_object(
    saved: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = []
    real = persistence._deserialise

    def counting(*args: Any) -> Any:
        calls.append(threading.get_ident())
        time.sleep(0.2)  # widen the window in which an unlocked cache would load again
        return real(*args)

    monkeypatch.setattr(persistence, "_deserialise", counting)
    start = threading.Barrier(8)
    results: list[Any] = [None] * 8

    def worker(i: int) -> None:
        start.wait()
        results[i] = load_model(saved)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(calls) == 1
    assert all(r is results[0] for r in results) and results[0] is not None


def test_concurrent_predictions_match_sequential_ones(saved: Path) -> None:
    model = load_model(saved)
    titles = [f"{t} {i}" for i in range(20) for t in TITLES]
    expected = model.predict_proba(titles)
    start = threading.Barrier(6)
    results: list[Any] = [None] * 6

    def worker(i: int) -> None:
        start.wait()
        results[i] = model.predict_proba(titles)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for result in results:
        np.testing.assert_array_equal(result, expected)


# -- hostile files: FIFOs and decompression bombs ---------------------------------------------


def _finishes(
    call: Callable[[], Any], seconds: float = 20.0, unblock: Callable[[], Any] | None = None
) -> BaseException | None:
    """Run ``call`` in a daemon thread; the exception it raised (None if none). Fails the test
    if it is still running after ``seconds``, after ``unblock`` freed it (a hang must not
    hang the suite: the blocked call may hold the model cache's lock)."""
    outcome: list[BaseException | None] = []

    def run() -> None:
        try:
            call()
            outcome.append(None)
        except BaseException as exc:
            outcome.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    if not outcome and unblock is not None:
        unblock()
        thread.join(seconds)
    assert outcome, f"still running after {seconds} s"
    return outcome[0]


@pytest.mark.parametrize(
    "call",
    [
        lambda path: load_model(path),
        lambda path: load_model(path, cache=False),
        lambda path: read_metadata(path),
    ],
    ids=["load", "uncached", "metadata"],
)
def test_a_fifo_is_refused_at_once_naming_it(tmp_path: Path, call: Callable[[Path], Any]) -> None:
    fifo = tmp_path / "model.akarclf"
    os.mkfifo(fifo)

    def unblock() -> None:  # a writer that closes at once gives the blocked reader its EOF
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))

    error = _finishes(lambda: call(fifo), unblock=unblock)
    assert isinstance(error, NotAModelError), repr(error)
    assert str(fifo) in str(error) and "FIFO" in str(error)


def test_score_with_a_fifo_as_model_fails_at_once_naming_it(tmp_path: Path) -> None:
    import subprocess
    import sys

    fifo, data = tmp_path / "model.akarclf", tmp_path / "in.csv"
    os.mkfifo(fifo)
    data.write_text("title,cross_border\nkemeja batik,true\n", encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "akarclf.cli.score", str(data), "-o", "-", "--model", str(fifo)],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])},
    )
    assert done.returncode != 0
    assert str(fifo) in done.stderr and "FIFO" in done.stderr, done.stderr


def _declare_size(archive: bytes, name: str, size: int) -> bytes:
    """``archive`` with the central directory's uncompressed size of ``name`` set to ``size``
    (a lie: the data stay as they are)."""
    data = bytearray(archive)
    at = -1
    while True:
        at = data.index(b"PK\x01\x02", at + 1)
        name_length = int.from_bytes(data[at + 28 : at + 30], "little")
        if data[at + 46 : at + 46 + name_length] == name.encode():
            data[at + 24 : at + 28] = size.to_bytes(4, "little")
            return bytes(data)


def _bomb_file(path: Path, metadata: dict[str, Any], payload: bytes, **declared: int) -> None:
    """A model file whose payload entry is deflated (akarclf stores it), with valid digests."""
    _rewrite(path, metadata, payload, rehash=True)
    good, _ = _entries(path)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("metadata.json", json.dumps(good))
        archive.writestr("model.skops", payload)
    data = buffer.getvalue()
    for name, size in declared.items():
        data = _declare_size(data, name.replace("_", "."), size)
    path.write_bytes(data)


def _peak_memory(call: Callable[[], Any]) -> tuple[BaseException | None, int]:
    import tracemalloc

    tracemalloc.start()
    try:
        error = _finishes(call)
        return error, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_a_payload_declaring_gibibytes_is_refused_unread(saved: Path) -> None:
    metadata, payload = _entries(saved)
    _bomb_file(saved, metadata, payload, model_skops=2 << 30)
    error, peak = _peak_memory(lambda: load_model(saved))
    assert isinstance(error, NotAModelError), repr(error)
    message = str(error)
    assert str(saved) in message and "2,147,483,648 bytes" in message and "bomb" in message
    assert "install" not in message.lower()
    assert peak < 16 << 20


def test_a_highly_compressible_payload_is_refused_with_bounded_memory(
    saved: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(persistence, "MAX_PAYLOAD_BYTES", 16 << 20)
    metadata, _ = _entries(saved)
    _bomb_file(saved, metadata, bytes(64 << 20))  # zeros: 64 MiB deflate to 64 KiB
    assert saved.stat().st_size < 1 << 20
    error, peak = _peak_memory(lambda: load_model(saved))
    assert isinstance(error, NotAModelError) and "bomb" in str(error), repr(error)
    assert peak < 8 << 20


def test_a_compressed_payload_within_the_limit_is_refused(saved: Path) -> None:
    metadata, payload = _entries(saved)
    _bomb_file(saved, metadata, payload)
    _raises(NotAModelError, str(saved), "payload is compressed")(lambda: load_model(saved))


def test_a_skops_payload_that_inflates_past_the_limit_is_refused_before_skops(
    saved: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(persistence, "MAX_PAYLOAD_BYTES", 16 << 20)
    metadata, _ = _entries(saved)
    inner = io.BytesIO()
    with zipfile.ZipFile(inner, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("schema.json", bytes(64 << 20))
    _rewrite(saved, metadata, inner.getvalue(), rehash=True)
    error, peak = _peak_memory(lambda: load_model(saved))
    assert isinstance(error, NotAModelError), repr(error)
    assert "skops payload declares" in str(error) and "install" not in str(error).lower()
    assert peak < 8 << 20
