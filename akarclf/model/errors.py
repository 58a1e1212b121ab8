"""Errors and warnings of model files: each error names the file, the problem and the fix."""

from __future__ import annotations

from pathlib import Path

from akarclf.errors import AkarclfError


class ModelFileError(AkarclfError, ValueError):
    """A model file cannot be used; the message names the file, the problem and the fix."""

    def __init__(self, path: Path | str, problem: str, remedy: str) -> None:
        self.path, self.problem, self.remedy = Path(path), problem, remedy
        super().__init__(str(self))

    def __str__(self) -> str:  # OSError (a base of ModelNotFoundError) formats its own way
        return f"{self.path}: {self.problem}. {self.remedy}"


class ModelNotFoundError(ModelFileError, FileNotFoundError):
    """The model file does not exist (also a ``FileNotFoundError``)."""


class NotAModelError(ModelFileError):
    """The file is not an akarclf model file (or not the expected kind of model)."""


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


class TextDataWarning(ModelVersionWarning):
    """The installed text data files differ from those the model was trained with."""
