"""What every command shares: the console and the configured database."""

from __future__ import annotations

from rich.console import Console, ConsoleDimensions
from sqlalchemy import Engine

from orderhub.settings import get_settings
from orderhub.store import make_engine
from orderhub.store.engine import check_reachable
from orderhub.store.migrate import require_head

#: Wide enough that a table piped to a file or another program keeps every value whole.
PIPE_WIDTH = 10_000


class _Console(Console):
    """A console as wide as a terminal, and unlimited when the output is not one."""

    @property
    def size(self) -> ConsoleDimensions:
        size = super().size
        return size if self.is_terminal else ConsoleDimensions(PIPE_WIDTH, size.height)

    @size.setter
    def size(self, new_size: tuple[int, int]) -> None:
        self._width, self._height = new_size


console = _Console()


def engine_from_settings() -> Engine:
    """The configured database, for a command that may create or migrate it (it connects)."""
    engine = make_engine(get_settings().database_url)
    check_reachable(engine)
    return engine


def migrated_engine() -> Engine:
    """The configured database, for a command that only uses it: it must exist and be at the
    head revision (nothing is created or migrated; say what to run instead)."""
    engine = make_engine(get_settings().database_url)
    require_head(engine)
    return engine
