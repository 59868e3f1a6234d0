"""Persistence: the queues and the history, behind one narrow interface (SQLite for now)."""

from monitor.store.sqlite import (
    FeedRow,
    ItemRow,
    NewItem,
    OpsEvent,
    OutboxRow,
    PositionRow,
    Stats,
    Store,
    UnknownItem,
)

__all__ = [
    "FeedRow",
    "ItemRow",
    "NewItem",
    "OpsEvent",
    "OutboxRow",
    "PositionRow",
    "Stats",
    "Store",
    "UnknownItem",
]
