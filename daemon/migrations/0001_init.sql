-- Threads, turns, items and the per-thread event log.
-- The event log is the source of truth for what clients saw; the other tables are projections
-- kept in the same transaction so list/read never have to replay events.

CREATE TABLE threads (
    id              TEXT PRIMARY KEY NOT NULL,
    session_id      TEXT NOT NULL,
    forked_from_id  TEXT,
    name            TEXT,
    preview         TEXT NOT NULL DEFAULT '',
    cwd             TEXT NOT NULL,
    model           TEXT NOT NULL,
    model_provider  TEXT NOT NULL,
    settings        TEXT NOT NULL DEFAULT '{}',
    ephemeral       INTEGER NOT NULL DEFAULT 0,
    archived        INTEGER NOT NULL DEFAULT 0,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    last_seq        INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX threads_by_archived ON threads (archived, id DESC);
CREATE INDEX threads_by_cwd ON threads (cwd, id DESC);

CREATE TABLE turns (
    id                  TEXT PRIMARY KEY NOT NULL,
    thread_id           TEXT NOT NULL REFERENCES threads (id) ON DELETE CASCADE,
    position            INTEGER NOT NULL,
    status              TEXT NOT NULL,
    error               TEXT,
    started_at          INTEGER,
    completed_at        INTEGER,
    duration_ms         INTEGER,
    usage               TEXT,
    client_request_id   TEXT,
    rolled_back         INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX turns_by_thread ON turns (thread_id, position);

CREATE TABLE items (
    id          TEXT PRIMARY KEY NOT NULL,
    thread_id   TEXT NOT NULL REFERENCES threads (id) ON DELETE CASCADE,
    turn_id     TEXT NOT NULL REFERENCES turns (id) ON DELETE CASCADE,
    position    INTEGER NOT NULL,
    kind        TEXT NOT NULL,
    payload     TEXT NOT NULL
);
CREATE INDEX items_by_turn ON items (turn_id, position);

CREATE TABLE events (
    thread_id   TEXT NOT NULL REFERENCES threads (id) ON DELETE CASCADE,
    seq         INTEGER NOT NULL,
    kind        TEXT NOT NULL,
    payload     TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    PRIMARY KEY (thread_id, seq)
) WITHOUT ROWID;

-- The conversation as the model sees it, in order: user and assistant messages, reasoning, tool
-- calls and their outputs (paired by call id). Kept apart from `items` because items are what
-- clients see, while this is exactly what the next model request replays.
CREATE TABLE history (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    thread_id   TEXT NOT NULL REFERENCES threads (id) ON DELETE CASCADE,
    turn_id     TEXT NOT NULL REFERENCES turns (id) ON DELETE CASCADE,
    payload     TEXT NOT NULL
);
CREATE INDEX history_by_thread ON history (thread_id, id);
