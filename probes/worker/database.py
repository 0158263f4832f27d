"""--db-copy inside a server: the project's default database is the copy servebench made for this
configuration. Applied before django.setup(), so no connection was ever made to the project's own."""

from __future__ import annotations

import os

from ..bench.contract import DATABASE_NAME_ENV


def use_database_copy() -> None:
    """Point the default database's NAME at DATABASE_NAME_ENV when set (the rest of its settings stay)."""
    name = os.environ.get(DATABASE_NAME_ENV)
    if not name:
        return
    from django.conf import settings

    settings.DATABASES["default"]["NAME"] = name
