"""The MALL query language: parse request parameters to a small AST, compile it to SQL."""

from orderhub.query.ast import Filter, OrderQuery, SortKey, View
from orderhub.query.compiler import Compiled, compile_query
from orderhub.query.cursor import Cursor, decode_cursor, encode_cursor
from orderhub.query.operators import OPERATORS, Operator
from orderhub.query.parser import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, parse_query

__all__ = [
    "DEFAULT_PAGE_SIZE",
    "MAX_PAGE_SIZE",
    "OPERATORS",
    "Compiled",
    "Cursor",
    "Filter",
    "Operator",
    "OrderQuery",
    "SortKey",
    "View",
    "compile_query",
    "decode_cursor",
    "encode_cursor",
    "parse_query",
]
