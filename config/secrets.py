"""Credentials by reference, so secrets stay out of the world file: `env:VAR` reads an
environment variable, `prefect-secret:NAME` loads a Prefect Secret block."""
from __future__ import annotations

import os

from config.settings import SettingsError

PLACEHOLDERS = frozenset({"", "changeme"})


def resolve_secret(reference: str, *, what: str) -> str:
    """The secret a reference points at; `what` names it in error messages (never the value)."""
    scheme, _, name = reference.partition(":")
    if scheme == "env" and name:
        value = os.environ.get(name)
        if value is None:
            raise SettingsError(f"{what}: environment variable {name} is not set")
        return value
    if scheme == "prefect-secret" and name:
        return _prefect_secret(name, what=what)
    raise SettingsError(f"{what}: {scheme!r} is not a credential reference; use env:VAR or prefect-secret:NAME")


def _prefect_secret(name: str, *, what: str) -> str:
    from prefect.blocks.system import Secret

    try:
        return str(Secret.load(name).get())
    except ValueError as exc:  # Prefect raises ValueError for a missing block
        raise SettingsError(f"{what}: Prefect Secret block {name!r} cannot be loaded ({exc}); create it with "
                            f"`prefect block create secret` or in the UI") from None
