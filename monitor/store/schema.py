"""The SQLite schema as ordered migrations; ``user_version`` records how far a file is."""

from __future__ import annotations

__all__ = ["MIGRATIONS"]

MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE feeds (
        id INTEGER PRIMARY KEY,
        url TEXT NOT NULL UNIQUE,           -- http(s) URL, or file:// for a local feed
        name TEXT NOT NULL DEFAULT '',
        interval_s REAL NOT NULL,
        active INTEGER NOT NULL DEFAULT 1,
        etag TEXT,
        last_modified TEXT,
        body_hash TEXT,
        title TEXT NOT NULL DEFAULT '',
        next_poll_at REAL NOT NULL DEFAULT 0,
        first_polled_at REAL,
        last_polled_at REAL,
        last_success_at REAL,
        last_status INTEGER,
        last_error TEXT,
        warning TEXT,
        consecutive_errors INTEGER NOT NULL DEFAULT 0
    );
    CREATE TABLE items (
        id INTEGER PRIMARY KEY,
        key TEXT NOT NULL UNIQUE,           -- stable identity across feeds
        feed_id INTEGER REFERENCES feeds(id),
        url TEXT NOT NULL,
        title TEXT NOT NULL DEFAULT '',
        source TEXT NOT NULL DEFAULT '',
        published REAL,                     -- epoch seconds, UTC
        seen_at REAL NOT NULL,
        trusted_local INTEGER NOT NULL DEFAULT 0,
        content TEXT,                       -- given text or html (replay); NULL: fetch url
        content_type TEXT,                  -- 'text' | 'html'
        state TEXT NOT NULL DEFAULT 'pending'
            CHECK (state IN ('pending', 'claimed', 'done', 'failed')),
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_at REAL NOT NULL DEFAULT 0,
        error TEXT,
        done_at REAL
    );
    CREATE INDEX items_queue ON items (state, next_attempt_at, published, id);
    CREATE TABLE findings (
        id INTEGER PRIMARY KEY,
        item_id INTEGER NOT NULL REFERENCES items(id),
        actor TEXT NOT NULL,
        demand TEXT NOT NULL,
        stance TEXT NOT NULL,
        sentence TEXT NOT NULL,
        start INTEGER NOT NULL,
        end INTEGER NOT NULL,
        historical INTEGER NOT NULL
    );
    CREATE INDEX findings_item ON findings (item_id);
    CREATE TABLE positions (
        actor TEXT NOT NULL,
        demand TEXT NOT NULL,
        first_seen REAL NOT NULL,
        last_seen REAL NOT NULL,
        last_demanded REAL,
        articles INTEGER NOT NULL,
        sources INTEGER NOT NULL,
        last_stance TEXT NOT NULL,
        PRIMARY KEY (actor, demand)
    ) WITHOUT ROWID;
    CREATE TABLE position_sources (
        actor TEXT NOT NULL,
        demand TEXT NOT NULL,
        source TEXT NOT NULL,
        PRIMARY KEY (actor, demand, source)
    ) WITHOUT ROWID;
    CREATE TABLE deltas (
        id INTEGER PRIMARY KEY,
        item_id INTEGER NOT NULL REFERENCES items(id),
        kind TEXT NOT NULL,
        actor TEXT NOT NULL,
        demand TEXT NOT NULL,
        actor_name TEXT NOT NULL,           -- display names as the rules said when recorded
        demand_title TEXT NOT NULL,
        stance TEXT NOT NULL,
        sentence TEXT NOT NULL,
        phrases TEXT NOT NULL DEFAULT '[]',  -- JSON list
        url TEXT NOT NULL,
        title TEXT NOT NULL,
        source TEXT NOT NULL,
        published REAL NOT NULL,
        historical INTEGER NOT NULL,
        first_seen REAL NOT NULL,
        articles INTEGER NOT NULL,
        created_at REAL NOT NULL,
        UNIQUE (item_id, actor, demand)
    );
    CREATE INDEX deltas_published ON deltas (published);
    CREATE TABLE outbox (
        id INTEGER PRIMARY KEY,
        delta_id INTEGER NOT NULL REFERENCES deltas(id),
        channel TEXT NOT NULL,
        state TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'sent', 'failed')),
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_at REAL NOT NULL DEFAULT 0,
        last_error TEXT,
        created_at REAL NOT NULL,
        sent_at REAL,
        UNIQUE (delta_id, channel)
    );
    CREATE INDEX outbox_queue ON outbox (state, next_attempt_at, id);
    """,
    # Notices for ops rather than the desk (a feed failing or recovering, an alert that
    # cannot be delivered, a rule reload refused), queued like alerts so none is lost.
    """
    CREATE TABLE ops_events (
        id INTEGER PRIMARY KEY,
        kind TEXT NOT NULL,                 -- feed_failing, feed_recovered, feed_quiet, ...
        subject TEXT NOT NULL,              -- what it is about: a feed URL, a channel, a file
        message TEXT NOT NULL,              -- one line for a person
        created_at REAL NOT NULL,
        state TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'sent', 'failed')),
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_at REAL NOT NULL DEFAULT 0,
        last_error TEXT,
        sent_at REAL
    );
    CREATE INDEX ops_events_queue ON ops_events (state, next_attempt_at, id);
    """,
    # Facts about the running daemon that `newsmon status` shows: the rule set in force.
    """
    CREATE TABLE meta (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL,
        updated_at REAL NOT NULL
    ) WITHOUT ROWID;
    """,
    # Alerts a desk wants to read (issue 6). Outbox rows sent as ONE message share a group_id
    # (the id of the group's first row, so a lone alert keeps its old key); ``digest`` marks
    # rows gathered into an hourly or daily digest. Silences mute deltas; ``suppressed`` says
    # which deltas were recorded but not sent, and why. ``slack_threads`` remembers the first
    # message of each (actor, demand) for Slack bot threads.
    """
    ALTER TABLE deltas ADD COLUMN severity TEXT NOT NULL DEFAULT '';
    ALTER TABLE deltas ADD COLUMN sources INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE outbox ADD COLUMN group_id INTEGER;
    ALTER TABLE outbox ADD COLUMN digest TEXT;          -- NULL: an alert; 'hourly' | 'daily'
    UPDATE outbox SET group_id = id;
    CREATE INDEX outbox_group ON outbox (group_id);
    CREATE INDEX outbox_channel ON outbox (channel, state, created_at);
    CREATE TABLE silences (
        id INTEGER PRIMARY KEY,
        actor TEXT,                         -- NULL: any
        demand TEXT,
        kind TEXT,
        source TEXT,
        comment TEXT NOT NULL DEFAULT '',
        created_at REAL NOT NULL,
        ends_at REAL NOT NULL,
        removed_at REAL
    );
    CREATE TABLE suppressed (
        delta_id INTEGER NOT NULL REFERENCES deltas(id),
        channel TEXT NOT NULL,
        reason TEXT NOT NULL,               -- 'silenced' | 'realert'
        silence_id INTEGER REFERENCES silences(id),
        created_at REAL NOT NULL,
        PRIMARY KEY (delta_id, channel)
    );
    CREATE TABLE slack_threads (
        channel TEXT NOT NULL,              -- newsmon channel name
        actor TEXT NOT NULL,
        demand TEXT NOT NULL,
        ts TEXT NOT NULL,                   -- Slack's id of the thread's first message
        created_at REAL NOT NULL,
        PRIMARY KEY (channel, actor, demand)
    ) WITHOUT ROWID;
    """,
    # Feed ingestion (issue 3): what the adaptive schedule and feed health need, items recorded
    # without alerting (backfill), and tombstones that keep purged entries from coming back.
    """
    ALTER TABLE feeds ADD COLUMN cadence_s REAL;        -- mean gap between its newest entries
    ALTER TABLE feeds ADD COLUMN ttl_s REAL;            -- the feed's own <ttl>, in seconds
    ALTER TABLE feeds ADD COLUMN entry_ids TEXT;         -- its entry ids last time (pre-pass)
    ALTER TABLE feeds ADD COLUMN last_new_at REAL;      -- when it last brought a new entry
    ALTER TABLE feeds ADD COLUMN quiet_since REAL;      -- flagged quiet (ops told) at
    ALTER TABLE feeds ADD COLUMN imported INTEGER NOT NULL DEFAULT 0;  -- from OPML, not config
    ALTER TABLE items ADD COLUMN backfill INTEGER NOT NULL DEFAULT 0;  -- recorded, not alerted
    CREATE TABLE tombstones (
        key TEXT PRIMARY KEY,               -- an item key that must not be enqueued again
        purged_at REAL NOT NULL
    ) WITHOUT ROWID;
    """,
    # Whose words a feed carries (a government's own press releases): the matcher reads its
    # first-person statements ("we insist") as that actor's. Replayed items carry their own.
    """
    ALTER TABLE feeds ADD COLUMN voice TEXT;
    ALTER TABLE items ADD COLUMN voice TEXT;
    """,
    # Issue 5: the evidence behind each position, near-duplicate copies counted as
    # corroboration of the first article's deltas, and unknown conditions grouped into items.
    """
    ALTER TABLE positions ADD COLUMN first_delta INTEGER;   -- the delta that set first_seen
    ALTER TABLE positions ADD COLUMN last_delta INTEGER;    -- ... last_seen and last_stance
    ALTER TABLE deltas ADD COLUMN corroborations INTEGER NOT NULL DEFAULT 1;
    CREATE INDEX deltas_pair ON deltas (actor, demand, published);
    CREATE INDEX deltas_item ON deltas (item_id);
    CREATE TABLE fingerprints (
        item_id INTEGER PRIMARY KEY REFERENCES items(id),
        published REAL NOT NULL,
        sketch BLOB NOT NULL                -- the sketch's hashes, 7 bytes each
    );
    CREATE TABLE fingerprint_keys (
        hash INTEGER NOT NULL,              -- one of the sketch's smallest hashes
        item_id INTEGER NOT NULL,
        PRIMARY KEY (hash, item_id)
    ) WITHOUT ROWID;
    CREATE TABLE corroborations (
        delta_id INTEGER NOT NULL REFERENCES deltas(id),
        item_id INTEGER NOT NULL REFERENCES items(id),   -- the copy
        source TEXT NOT NULL,
        url TEXT NOT NULL,
        published REAL NOT NULL,
        similarity REAL NOT NULL,
        PRIMARY KEY (delta_id, item_id)
    ) WITHOUT ROWID;
    CREATE TABLE unknown_conditions (
        id INTEGER PRIMARY KEY,
        actor TEXT NOT NULL,
        words TEXT NOT NULL,                -- JSON list of the content words
        delta_id INTEGER REFERENCES deltas(id),
        first_seen REAL NOT NULL,
        last_seen REAL NOT NULL,
        articles INTEGER NOT NULL,
        state TEXT NOT NULL DEFAULT 'open'
    );
    CREATE INDEX unknown_conditions_actor ON unknown_conditions (actor, state);
    -- The queue in claim order, so that claiming a batch from a long replay needs no sort.
    CREATE INDEX items_claim_order ON items (state, published IS NULL, published, key);
    """,
    # An unrecognized condition's words as the article wrote them, for people ("territorial",
    # not the stem "territori" that grouping compares); NULL in rows made before.
    """
    ALTER TABLE unknown_conditions ADD COLUMN shown TEXT;  -- JSON list, as written
    """,
)
