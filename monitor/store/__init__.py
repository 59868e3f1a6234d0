"""Persistence: the queues and the history, behind one narrow interface (SQLite for now)."""

from monitor.store.outbox import AlertGroup, FailedAlert
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
    "AlertGroup",
    "FailedAlert",
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
