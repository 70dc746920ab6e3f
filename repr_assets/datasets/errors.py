"""The errors of naming and declaring data sets, apart from the code that raises them, so
that the command line can catch them without importing the catalog and its encoders."""

from __future__ import annotations


class DeclarationError(ValueError):
    """A data set declared in YAML that cannot be used as written."""


class UnknownDatasetError(KeyError):
    """A data set name that is neither built in, declared, nor run before."""

    def __str__(self) -> str:
        return str(self.args[0])
