"""Which connector serves which channel type."""

from __future__ import annotations

from orderhub.channels.base import Account, Connector, Unsupported


def open_connector(account: Account) -> Connector:
    """A connector for the account; Unsupported for a type that has no client yet."""
    if account.type == "mall":
        from orderhub.channels.mall.connector import MallConnector

        return MallConnector(account)
    if account.type == "cscart":
        from orderhub.channels.cscart.connector import CsCartConnector

        return CsCartConnector(account)
    if account.type == "dexero":
        from orderhub.channels.dexero.connector import DexeroConnector

        return DexeroConnector(account)
    if account.type == "cdon":
        from orderhub.channels.cdon.connector import CdonConnector

        return CdonConnector(account)
    raise Unsupported(f"channel {account.name!r}: no client for type {account.type!r} yet")
