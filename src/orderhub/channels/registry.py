"""Which connector serves which channel type."""

from __future__ import annotations

from orderhub.channels.base import Account, Connector, Unsupported


def open_connector(account: Account) -> Connector:
    """A connector for the account; Unsupported for a type that has no client yet."""
    if account.type == "mall":
        from orderhub.channels.mall.connector import MallConnector

        return MallConnector(account)
    raise Unsupported(f"channel {account.name!r}: no client for type {account.type!r} yet")
