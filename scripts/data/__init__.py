"""Data shipped inside the package (read with importlib.resources, so an installed wheel
finds it wherever it runs): the Hessian authorities of the demo and the open-data
standards the exports follow. Provenance and licences: README.md beside the files."""

from __future__ import annotations

from importlib.resources import files
from importlib.resources.abc import Traversable


def authorities_csv() -> Traversable:
    """`hessen_kommunen_2019.csv`: the 443 authorities the demo loads."""
    return files(__name__) / "hessen_kommunen_2019.csv"


def standards() -> Traversable:
    """The vendored 360Giving and IATI schemas (`360giving/`, `iati/`)."""
    return files(__name__) / "standards"


__all__ = ["authorities_csv", "standards"]
