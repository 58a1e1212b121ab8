"""Save and load trained models as single files that a service can trust.

A model file (``*.akarclf``) is a zip archive with exactly two entries, both stored uncompressed:

``metadata.json``
    UTF-8 JSON object: ``format`` (always ``"akarclf-model"``), ``format_version``, the versions
    of akarclf, scikit-learn, numpy, scipy, skops and Python that wrote it, ``created_at`` (UTC,
    ISO 8601), ``model_type``, ``model_version``, ``labels``, whatever the trainer added
    (training-data fingerprint, metrics, ...), ``payload_sha256`` and ``sha256``.
``model.skops``
    The estimator in the skops format (itself a deflate-compressed zip of JSON and ``.npy``).

``sha256`` covers the metadata *and* the payload: it is the SHA-256 of
``b"akarclf-model\\n" + canonical_json(metadata without "sha256") + b"\\n" + payload`` where
``canonical_json`` is compact JSON with sorted keys. A file can therefore be inspected with
``unzip -p model.akarclf metadata.json``, and any change to either entry is detected before a
single object is rebuilt. The digest detects damage and accidental edits; it is not a
signature. Protection against a *hostile* file comes from skops: it rebuilds only the types in
:data:`TRUSTED_TYPES` (plus skops' own defaults: scikit-learn estimators, numpy and scipy
containers, builtins) and never runs pickle.

TF-IDF vocabularies are the bulk of a text model, and skops writes a dict as one JSON node per
entry (134 MB and 3 s to load for a 145k-term model). :func:`save_model` therefore stores each
fitted vectorizer's ``vocabulary_`` as two numpy arrays (the UTF-8 bytes of the terms in column
order, and their offsets) in the attribute ``_akarclf_packed_vocabulary``, and
:func:`load_model` rebuilds the dict. The model passed to :func:`save_model` is not modified (a
deep copy is packed). This packing is part of format version 1.

Compatibility policy, applied before deserialising: a different ``format_version`` is refused;
a different scikit-learn major.minor is refused (skops rebuilds estimators from their private
attributes, which scikit-learn changes between minor releases, and such a model may load and
then predict wrongly) unless ``allow_version_mismatch=True``, which downgrades that to a
:class:`ModelVersionWarning`; a different akarclf version only warns.
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import json
import operator
import os
import platform
import tempfile
import threading
import warnings
import zipfile
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from types import FunctionType, ModuleType
from typing import Any, BinaryIO

import numpy as np

from akarclf._version import __version__
from akarclf.errors import AkarclfError

#: Value of ``metadata["format"]`` in every akarclf model file.
FORMAT_NAME = "akarclf-model"
#: Version of the container layout, hashing and vocabulary packing described above.
FORMAT_VERSION = 1
#: File name of the shipped default model (in ``models/`` and in the wheel).
DEFAULT_MODEL_FILE = "akarclf-default.akarclf"
#: Where ``akarclf train`` writes the default model, relative to the repository root.
DEFAULT_MODEL_PATH = Path("models") / DEFAULT_MODEL_FILE
#: The command that (re)creates the default model, quoted in error messages.
TRAIN_COMMAND = f"akarclf train --data ../shared/data --out {DEFAULT_MODEL_PATH.as_posix()}"

#: Types skops may rebuild beyond its defaults (scikit-learn estimators, numpy, scipy sparse,
#: builtin containers and scalars). Each is a plain data holder whose methods only read its
#: attributes; nothing that calls, imports or evaluates anything is ever listed here.
TRUSTED_TYPES: list[str] = [
    # akarclf's own estimator and text pieces (WordAnalyzer holds two attributes).
    "akarclf.model.classifier.ClusterClassifier",
    "akarclf.text.normalize.TitleNormalizer",
    "akarclf.text.normalize.WordAnalyzer",
    "akarclf.model.features.CachedCharTfidfVectorizer",
    "akarclf.model.features.CachedWordTfidfVectorizer",
    # Fitted internals of CalibratedClassifierCV (private, hence not in skops' defaults).
    "sklearn.calibration._CalibratedClassifier",
    "sklearn.calibration._SigmoidCalibration",
    "sklearn.calibration._TemperatureScaling",
    # The calibration folds ClusterClassifier passes as ``cv`` (three plain attributes).
    "sklearn.model_selection._split.StratifiedKFold",
]

_METADATA_ENTRY = "metadata.json"
_PAYLOAD_ENTRY = "model.skops"
_ENTRIES = (_METADATA_ENTRY, _PAYLOAD_ENTRY)
_MAX_METADATA_BYTES = 1 << 20
_HASH_PREFIX = b"akarclf-model\n"
_PACKED_VOCABULARY = "_akarclf_packed_vocabulary"
_ZIP_MAGIC = b"PK\x03\x04"
#: The archive comment sits in the zip's last bytes: its absence means the file was cut off.
_ZIP_COMMENT = FORMAT_NAME.encode()
#: Keys save_model always sets itself; values the caller passes for them are replaced.
RESERVED_KEYS = frozenset(
    {
        "format",
        "format_version",
        "akarclf_version",
        "sklearn_version",
        "numpy_version",
        "scipy_version",
        "skops_version",
        "python_version",
        "created_at",
        "model_type",
        "payload_sha256",
        "sha256",
    }
)


# -- errors -----------------------------------------------------------------------------------


class ModelFileError(AkarclfError, ValueError):
    """A model file cannot be used; the message names the file, the problem and the fix."""

    def __init__(self, path: Path | str, problem: str, remedy: str) -> None:
        self.path = Path(path)
        self.problem = problem
        self.remedy = remedy
        super().__init__(f"{self.path}: {problem}. {remedy}")

    def __str__(self) -> str:
        # OSError (a base of ModelNotFoundError) would otherwise format its own way.
        return f"{self.path}: {self.problem}. {self.remedy}"


class ModelNotFoundError(ModelFileError, FileNotFoundError):
    """The model file does not exist (also a ``FileNotFoundError``)."""


class NotAModelError(ModelFileError):
    """The file exists but is not an akarclf model file (or not the expected kind of model)."""


class ModelIntegrityError(ModelFileError):
    """The file was an akarclf model but is truncated, damaged or was modified after saving."""


class IncompatibleModelError(ModelFileError):
    """The file is intact but was written by an incompatible format or library version."""


class UntrustedTypeError(ModelFileError):
    """The payload contains types outside :data:`TRUSTED_TYPES`; nothing was rebuilt."""

    def __init__(self, path: Path | str, types: list[str]) -> None:
        self.types = sorted(types)
        super().__init__(
            path,
            f"refused to load untrusted types {self.types}",
            "Only load model files written by akarclf's own save_model; if these types are "
            "safe plain data holders, add them to akarclf.model.persistence.TRUSTED_TYPES",
        )


class ModelVersionWarning(UserWarning):
    """The model was saved by another akarclf (or, when allowed, scikit-learn) version."""


# -- metadata helpers -------------------------------------------------------------------------


def _json_default(value: object) -> object:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return value.as_posix()
    if isinstance(value, (set, frozenset)):
        return sorted(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable: {value!r:.80}")


def _canonical(metadata: Mapping[str, Any]) -> bytes:
    body = {k: v for k, v in metadata.items() if k != "sha256"}
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def _digest(metadata: Mapping[str, Any], payload: bytes) -> str:
    h = hashlib.sha256(_HASH_PREFIX)
    h.update(_canonical(metadata))
    h.update(b"\n")
    h.update(payload)
    return h.hexdigest()


def _library_versions() -> dict[str, str]:
    import scipy
    import sklearn
    import skops

    return {
        "akarclf_version": __version__,
        "sklearn_version": sklearn.__version__,
        "numpy_version": np.__version__,
        "scipy_version": scipy.__version__,
        "skops_version": skops.__version__,
        "python_version": platform.python_version(),
    }


def _major_minor(version: str) -> tuple[str, ...]:
    return tuple(version.split(".")[:2])


def _qualified_name(obj: object) -> str:
    cls = type(obj)
    return f"{cls.__module__}.{cls.__qualname__}"


# -- vocabulary packing -----------------------------------------------------------------------


def _walk(root: object) -> Iterator[object]:
    """Every object reachable from ``root`` through containers and instance attributes."""
    seen: set[int] = set()
    stack = [root]
    while stack:
        obj = stack.pop()
        if id(obj) in seen or isinstance(obj, (str, bytes, int, float, np.ndarray)):
            continue
        seen.add(id(obj))
        yield obj
        if isinstance(obj, Mapping):
            stack.extend(obj.values())
        elif isinstance(obj, (list, tuple, set, frozenset)):
            stack.extend(obj)
        elif hasattr(obj, "__dict__") and not isinstance(obj, (type, ModuleType, FunctionType)):
            stack.extend(vars(obj).values())


def _vectorizers(root: object) -> list[Any]:
    from sklearn.feature_extraction.text import CountVectorizer

    return [obj for obj in _walk(root) if isinstance(obj, CountVectorizer)]


def _pack_vocabulary(vocabulary: Mapping[str, Any]) -> dict[str, np.ndarray] | None:
    """Terms in column order as UTF-8 bytes plus offsets, or None if not a plain vocabulary."""
    n = len(vocabulary)
    terms: list[str | None] = [None] * n
    for term, index in vocabulary.items():
        try:
            i = operator.index(index)
        except TypeError:
            return None
        if not isinstance(term, str) or not 0 <= i < n or terms[i] is not None:
            return None
        terms[i] = term
    encoded = [t.encode("utf-8") for t in terms]  # type: ignore[union-attr]
    offsets = np.zeros(n + 1, dtype=np.int64)
    np.cumsum([len(e) for e in encoded], out=offsets[1:])
    return {"utf8": np.frombuffer(b"".join(encoded), dtype=np.uint8), "offsets": offsets}


def _unpack_vocabulary(packed: object) -> dict[str, int] | None:
    """The vocabulary dict of a packed vocabulary, or None if ``packed`` is malformed."""
    if not isinstance(packed, dict) or set(packed) != {"utf8", "offsets"}:
        return None
    data, offsets = packed["utf8"], packed["offsets"]
    if not (
        isinstance(data, np.ndarray)
        and isinstance(offsets, np.ndarray)
        and data.dtype == np.uint8
        and offsets.dtype == np.int64
        and data.ndim == offsets.ndim == 1
        and len(offsets) >= 1
        and offsets[0] == 0
        and offsets[-1] == len(data)
        and bool(np.all(np.diff(offsets) >= 0))
    ):
        return None
    raw = data.tobytes()
    bounds = offsets.tolist()
    try:
        vocabulary = {
            raw[bounds[i] : bounds[i + 1]].decode("utf-8"): i for i in range(len(bounds) - 1)
        }
    except UnicodeDecodeError:
        return None
    return vocabulary if len(vocabulary) == len(bounds) - 1 else None


def _packed_copy(model: object) -> object:
    """``model`` itself, or a deep copy whose vectorizer vocabularies are packed."""
    if not any(isinstance(getattr(v, "vocabulary_", None), dict) for v in _vectorizers(model)):
        return model
    clone = copy.deepcopy(model)
    for vectorizer in _vectorizers(clone):
        vocabulary = vectorizer.__dict__.get("vocabulary_")
        if isinstance(vocabulary, dict):
            packed = _pack_vocabulary(vocabulary)
            if packed is not None:
                del vectorizer.__dict__["vocabulary_"]
                vectorizer.__dict__[_PACKED_VOCABULARY] = packed
    return clone


def _unpack_all(model: object, path: Path) -> None:
    for vectorizer in _vectorizers(model):
        if _PACKED_VOCABULARY in vectorizer.__dict__:
            vocabulary = _unpack_vocabulary(vectorizer.__dict__.pop(_PACKED_VOCABULARY))
            if vocabulary is None:
                raise ModelIntegrityError(
                    path,
                    "a packed TF-IDF vocabulary in the payload is malformed although the "
                    "checksum matches (the file was not written by akarclf's save_model)",
                    "Retrain the model, or restore the file from the copy that was saved",
                )
            vectorizer.vocabulary_ = vocabulary


# -- saving -----------------------------------------------------------------------------------


def _write_container(path: Path, metadata: Mapping[str, Any], payload: bytes) -> None:
    """Atomically write ``metadata`` (which must already hold its digests) and ``payload``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(metadata, sort_keys=True, indent=2, ensure_ascii=False) + "\n"
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as handle:
            with zipfile.ZipFile(handle, "w", compression=zipfile.ZIP_STORED) as archive:
                archive.comment = _ZIP_COMMENT
                archive.writestr(_METADATA_ENTRY, text.encode("utf-8"))
                archive.writestr(_PAYLOAD_ENTRY, payload)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def save_model(model: object, path: str | os.PathLike[str], *, metadata: Mapping[str, Any]) -> Path:
    """Write ``model`` and ``metadata`` to the single file ``path`` and return its path.

    ``metadata`` is what the trainer knows (training-data fingerprint, metrics, ...); it must
    be JSON-serialisable (numpy scalars and arrays, paths and sets are converted). The keys in
    :data:`RESERVED_KEYS` are filled in here; ``labels`` defaults to ``model.classes_`` and
    ``model_version`` to ``<date>-<first 12 hex digits of the payload digest>``. The file is
    written to a temporary name in the same directory and renamed, so readers never see half a
    file. Raises ``TypeError`` if the model holds a type :func:`load_model` would refuse, so a
    model that cannot be loaded back is never written.
    """
    import skops.io

    target = Path(path)
    if not isinstance(metadata, Mapping):
        raise TypeError(f"metadata must be a mapping, got {type(metadata).__name__}")
    bad_keys = [k for k in metadata if not isinstance(k, str)]
    if bad_keys:
        raise TypeError(f"metadata keys must be str, got {bad_keys!r:.120}")
    try:
        user = json.loads(json.dumps(dict(metadata), default=_json_default))
    except (TypeError, ValueError) as exc:
        raise TypeError(f"metadata must be JSON-serialisable: {exc}") from exc

    payload = skops.io.dumps(_packed_copy(model), compression=zipfile.ZIP_DEFLATED)
    refused = sorted(set(skops.io.get_untrusted_types(data=payload)) - set(TRUSTED_TYPES))
    if refused:
        raise TypeError(
            f"cannot save {_qualified_name(model)}: it holds types load_model would refuse "
            f"{refused}; add them to akarclf.model.persistence.TRUSTED_TYPES if they are safe"
        )
    payload_sha = hashlib.sha256(payload).hexdigest()
    created = datetime.now(UTC)

    full: dict[str, Any] = {k: v for k, v in user.items() if k not in RESERVED_KEYS}
    classes = getattr(model, "classes_", None)
    if "labels" not in full and classes is not None:
        full["labels"] = [str(c) for c in classes]
    full.setdefault("model_version", f"{created:%Y%m%d}-{payload_sha[:12]}")
    full.update(_library_versions())
    full.update(
        format=FORMAT_NAME,
        format_version=FORMAT_VERSION,
        created_at=created.isoformat(timespec="seconds"),
        model_type=_qualified_name(model),
        payload_sha256=payload_sha,
    )
    full["sha256"] = _digest(full, payload)
    _write_container(target, full, payload)
    return target


# -- reading ----------------------------------------------------------------------------------


def _check_path(path: Path) -> None:
    if not path.exists():
        raise ModelNotFoundError(
            path,
            "model file not found",
            f"Check the path, or train a model: {TRAIN_COMMAND}",
        )
    if path.is_dir():
        raise NotAModelError(path, "is a directory, not a model file", "Pass the .akarclf file")


_DAMAGED = f"Copy the file again from its source, or retrain: {TRAIN_COMMAND}"
_TRUNCATED = "the model file is truncated (its end is missing)"
_NOT_OURS = "Pass a file written by akarclf's save_model (akarclf train --out)"


def _read_container(path: Path) -> tuple[dict[str, Any], bytes]:
    """Metadata and payload of a model file, verified; nothing is deserialised here."""
    _check_path(path)
    try:
        with path.open("rb") as handle:
            head = handle.read(len(_ZIP_MAGIC))
            if not head:
                raise NotAModelError(path, "the file is empty", _DAMAGED)
            if head != _ZIP_MAGIC:
                kind = " (it looks like a pickle/joblib file)" if head[:1] == b"\x80" else ""
                raise NotAModelError(
                    path,
                    f"not an akarclf model file{kind}",
                    _NOT_OURS + "; pickle and joblib files are never loaded",
                )
            # save_model writes metadata.json first: a zip whose first entry is not that was
            # never an akarclf model, while one that starts like a model but cannot be read
            # is a damaged model. (A cut-off file can even parse as the inner skops zip.)
            head += handle.read(26 + len(_METADATA_ENTRY))
            name_length = int.from_bytes(head[26:28], "little")
            if head[30 : 30 + name_length] != _METADATA_ENTRY.encode():
                raise NotAModelError(path, _foreign_zip(handle), _NOT_OURS)
            handle.seek(0)
            try:
                with zipfile.ZipFile(handle) as archive:
                    return _read_entries(path, archive)
            except ModelFileError:
                raise
            except Exception as exc:  # the zip layer parses untrusted bytes: any failure
                raise ModelIntegrityError(
                    path, f"the model file is truncated or damaged ({exc})", _DAMAGED
                ) from None
    except OSError as exc:
        if isinstance(exc, ModelFileError):
            raise
        raise ModelFileError(
            path, f"cannot read the file ({exc.strerror or exc})", "Check the path and permissions"
        ) from None


def _foreign_zip(handle: BinaryIO) -> str:
    """What to say about a zip archive that is not a model: its first few entries if readable."""
    handle.seek(0)
    try:
        with zipfile.ZipFile(handle) as archive:
            names = archive.namelist()
    except Exception:
        return "a zip archive but not an akarclf model file"
    if "schema.json" in names:
        return "a bare skops file, not an akarclf model file (it lacks akarclf's metadata)"
    return f"a zip archive but not an akarclf model file (it holds {names[:5]!r})"


def _read_entries(path: Path, archive: zipfile.ZipFile) -> tuple[dict[str, Any], bytes]:
    names = archive.namelist()
    if _METADATA_ENTRY not in names:
        # The first local header says metadata.json but the directory found does not list
        # it: the end of the file (and the model's directory) is missing.
        raise ModelIntegrityError(path, _TRUNCATED, _DAMAGED)
    not_model = f"a zip archive but not an akarclf model file (it holds {names[:5]!r})"
    if archive.getinfo(_METADATA_ENTRY).file_size > _MAX_METADATA_BYTES:
        raise NotAModelError(path, not_model + " (its metadata.json is too large)", _NOT_OURS)
    try:
        metadata = json.loads(archive.read(_METADATA_ENTRY).decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise NotAModelError(path, not_model + " (metadata.json is not JSON)", _NOT_OURS) from None
    if not isinstance(metadata, dict) or metadata.get("format") != FORMAT_NAME:
        raise NotAModelError(path, not_model + f" (format is not {FORMAT_NAME!r})", _NOT_OURS)
    version = metadata.get("format_version")
    if version != FORMAT_VERSION:
        raise IncompatibleModelError(
            path,
            f"model file format version {version!r}, but akarclf {__version__} reads only "
            f"format version {FORMAT_VERSION} (the file was written by akarclf "
            f"{metadata.get('akarclf_version', 'unknown')})",
            "Install the akarclf version that wrote it, or retrain the model with this one: "
            + TRAIN_COMMAND,
        )
    if archive.comment != _ZIP_COMMENT:
        raise ModelIntegrityError(path, _TRUNCATED, _DAMAGED)
    if sorted(names) != sorted(_ENTRIES):
        extra = sorted(set(names) - set(_ENTRIES)) or names
        raise ModelIntegrityError(path, f"unexpected entries in the model file: {extra}", _DAMAGED)
    payload = archive.read(_PAYLOAD_ENTRY)
    if hashlib.sha256(payload).hexdigest() != metadata.get("payload_sha256"):
        raise ModelIntegrityError(
            path, "the model payload does not match its SHA-256 (modified or damaged)", _DAMAGED
        )
    if _digest(metadata, payload) != metadata.get("sha256"):
        raise ModelIntegrityError(
            path, "the metadata does not match the file's SHA-256 (modified after saving)", _DAMAGED
        )
    return metadata, payload


def _check_versions(path: Path, metadata: Mapping[str, Any], allow_mismatch: bool) -> None:
    import sklearn

    saved = str(metadata.get("sklearn_version", "unknown"))
    if _major_minor(saved) != _major_minor(sklearn.__version__):
        problem = (
            f"saved with scikit-learn {saved}, but scikit-learn {sklearn.__version__} is "
            "installed; estimators may load and then predict wrongly across minor versions"
        )
        if not allow_mismatch:
            raise IncompatibleModelError(
                path,
                problem,
                f"Install scikit-learn=={saved} or retrain the model: {TRAIN_COMMAND} "
                "(allow_version_mismatch=True loads it anyway, at your own risk)",
            )
        warnings.warn(f"{path}: {problem}", ModelVersionWarning, stacklevel=4)
    saved_akarclf = metadata.get("akarclf_version")
    if saved_akarclf != __version__:
        warnings.warn(
            f"{path}: saved with akarclf {saved_akarclf}, running akarclf {__version__}; "
            f"retrain to be sure the text features match ({TRAIN_COMMAND})",
            ModelVersionWarning,
            stacklevel=4,
        )


#: Modules whose classes moved when akarclf was split into packages (models written before
#: 0.2 name the old ones); :func:`_renamed_payload` points a payload at the new ones.
_MOVED_MODULES = {
    "akarclf.model": "akarclf.model.classifier",
    "akarclf.text": "akarclf.text.normalize",
    "akarclf.features": "akarclf.model.features",
}


def _rename_modules(node: object) -> None:
    if isinstance(node, dict):
        module = node.get("__module__")
        if isinstance(module, str) and module in _MOVED_MODULES:
            node["__module__"] = _MOVED_MODULES[module]
        for value in node.values():
            _rename_modules(value)
    elif isinstance(node, list):
        for value in node:
            _rename_modules(value)


def _renamed_payload(payload: bytes) -> bytes:
    """The skops payload with classes of moved akarclf modules named where they live now."""
    import io

    with zipfile.ZipFile(io.BytesIO(payload)) as archive:
        schema = json.loads(archive.read("schema.json"))
        before = json.dumps(schema, sort_keys=True)
        _rename_modules(schema)
        if json.dumps(schema, sort_keys=True) == before:
            return payload
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as renamed:
            for info in archive.infolist():
                data = archive.read(info)
                if info.filename == "schema.json":
                    data = json.dumps(schema).encode()
                renamed.writestr(info.filename, data)
    return out.getvalue()


def _deserialise(path: Path, metadata: Mapping[str, Any], payload: bytes) -> Any:
    import skops.io

    try:
        payload = _renamed_payload(payload)
        untrusted = skops.io.get_untrusted_types(data=payload)
    except Exception as exc:
        raise _undecodable(path, metadata, exc) from None
    refused = sorted(set(untrusted) - set(TRUSTED_TYPES))
    if refused:
        raise UntrustedTypeError(path, refused)
    try:
        model = skops.io.loads(payload, trusted=TRUSTED_TYPES)
    except Exception as exc:
        raise _undecodable(path, metadata, exc) from None
    _unpack_all(model, path)
    return model


def _undecodable(path: Path, metadata: Mapping[str, Any], exc: Exception) -> ModelFileError:
    import sklearn
    import skops

    return IncompatibleModelError(
        path,
        f"the model could not be rebuilt ({type(exc).__name__}: {exc!s:.200}); it was saved "
        f"with skops {metadata.get('skops_version')} and scikit-learn "
        f"{metadata.get('sklearn_version')}, this is skops {skops.__version__} and "
        f"scikit-learn {sklearn.__version__}",
        f"Install the versions it was saved with, or retrain the model: {TRAIN_COMMAND}",
    )


def read_metadata(path: str | os.PathLike[str] | None = None) -> dict[str, Any]:
    """The verified metadata of a model file, without rebuilding the model (cheap)."""
    resolved = default_model_path() if path is None else Path(path)
    return _read_container(resolved)[0]


# -- default model ----------------------------------------------------------------------------


def _default_candidates() -> list[Path]:
    """Where the default model may be: package data first, then a source checkout's models/."""
    candidates = []
    packaged = resources.files("akarclf").joinpath("_default_model").joinpath(DEFAULT_MODEL_FILE)
    if isinstance(packaged, Path):  # a zip-imported package has no usable file path
        candidates.append(packaged)
    repo = Path(__file__).resolve().parents[2]
    if (repo / "pyproject.toml").is_file():  # a source checkout or editable install
        candidates.append(repo / DEFAULT_MODEL_PATH)
    return candidates


def default_model_path() -> Path:
    """Path of the shipped default model.

    Installed wheels carry it as package data ``akarclf/_default_model/``; a source checkout
    (editable install) has it in ``<repo>/models/``. Raises :class:`ModelNotFoundError`
    saying how to train it when neither exists.
    """
    candidates = _default_candidates()
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    looked = ", ".join(str(c) for c in candidates) or "nowhere (no file-system package)"
    raise ModelNotFoundError(
        DEFAULT_MODEL_PATH,
        f"the default model is not installed (looked in {looked})",
        f"Train it with: {TRAIN_COMMAND}, or pass the path of a model file",
    )


# -- loading with a cache ---------------------------------------------------------------------

_cache_lock = threading.Lock()
#: resolved path -> ((inode, mtime_ns, size), metadata, model)
_cache: dict[Path, tuple[tuple[int, int, int], dict[str, Any], Any]] = {}


def clear_model_cache() -> None:
    """Forget every loaded model (the next :func:`load_model` reads its file again)."""
    with _cache_lock:
        _cache.clear()


def _load_uncached(path: Path, allow_version_mismatch: bool) -> tuple[dict[str, Any], Any]:
    metadata, payload = _read_container(path)
    _check_versions(path, metadata, allow_version_mismatch)
    model = _deserialise(path, metadata, payload)
    # Objects without attribute support keep their metadata only in the file.
    with contextlib.suppress(AttributeError, TypeError):
        model.metadata_ = metadata
    return metadata, model


def load_model(
    path: str | os.PathLike[str] | None = None,
    *,
    expected_type: type | None = None,
    allow_version_mismatch: bool = False,
    cache: bool = True,
) -> Any:
    """Load a model file written by :func:`save_model`; ``None`` loads the shipped default.

    The container and both SHA-256 digests are verified and the format and scikit-learn
    versions checked before anything is deserialised; then skops rebuilds only trusted types.
    Every failure is a :class:`ModelFileError` subclass naming the file, the problem and the
    fix. With ``cache=True`` the model is loaded once per (resolved path, file identity,
    modification time, size): later calls, from any thread, return the same object, and a
    replaced file is read again. The returned object is shared; do not modify it.
    ``expected_type`` makes a file holding another kind of object a :class:`NotAModelError`.
    """
    resolved = default_model_path() if path is None else Path(path)
    _check_path(resolved)
    resolved = resolved.resolve()
    if cache:
        with _cache_lock:
            stat = resolved.stat()
            key = (stat.st_ino, stat.st_mtime_ns, stat.st_size)
            hit = _cache.get(resolved)
            if hit is not None and hit[0] == key:
                # Checked again: a model cached under allow_version_mismatch=True is not
                # handed to a caller that did not allow the mismatch.
                _check_versions(resolved, hit[1], allow_version_mismatch)
                model = hit[2]
            else:
                metadata, model = _load_uncached(resolved, allow_version_mismatch)
                _cache[resolved] = (key, metadata, model)
    else:
        model = _load_uncached(resolved, allow_version_mismatch)[1]
    if expected_type is not None and not isinstance(model, expected_type):
        raise NotAModelError(
            resolved,
            f"holds a {_qualified_name(model)}, expected a "
            f"{expected_type.__module__}.{expected_type.__qualname__}",
            "Pass a model file of the expected kind",
        )
    return model
