"""Alembic environment: runs as the owner role; GeoAlchemy2's helpers keep spatial_ref_sys out of diffs."""

from __future__ import annotations

from alembic import context
from geoalchemy2 import alembic_helpers
from sqlalchemy import create_engine, pool

from geo.models import Base
from geo.settings import Settings

config = context.config
target_metadata = Base.metadata


def _url() -> str:
    # A caller (tests, the CLI) may pass the URL explicitly; otherwise the owner URL from the settings.
    return config.attributes.get("url") or Settings().owner_database_url


def _options() -> dict:
    return dict(
        target_metadata=target_metadata,
        include_object=alembic_helpers.include_object,
        process_revision_directives=alembic_helpers.writer,
        render_item=alembic_helpers.render_item,
        compare_type=True,
    )


def run_offline() -> None:
    context.configure(url=_url(), literal_binds=True, **_options())
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        context.configure(connection=connection, **_options())
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = create_engine(_url(), poolclass=pool.NullPool)
    with engine.connect() as conn:
        context.configure(connection=conn, **_options())
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
