-- The PostgreSQL store: the same tables as the SQLite migrations 0001-0004 (threads, turns,
-- items, the per-thread event log, the model-facing history, the search index, memory), plus
-- what several daemons sharing these threads need: thread leases, forwarded commands and
-- pending approvals (docs/decisions/018-several-daemons-on-postgres.md).
-- Times are unix seconds, as in SQLite; lease times are milliseconds of the database's clock.

CREATE TABLE threads (
    id              TEXT PRIMARY KEY,
    session_id      TEXT NOT NULL,
    forked_from_id  TEXT,
    name            TEXT,
    preview         TEXT NOT NULL DEFAULT '',
    cwd             TEXT NOT NULL,
    model           TEXT NOT NULL,
    model_provider  TEXT NOT NULL,
    settings        TEXT NOT NULL DEFAULT '{}',
    ephemeral       BOOLEAN NOT NULL DEFAULT FALSE,
    archived        BOOLEAN NOT NULL DEFAULT FALSE,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL,
    last_seq        BIGINT NOT NULL DEFAULT 0,
    source          TEXT NOT NULL DEFAULT '"appServer"',
    source_kind     TEXT NOT NULL DEFAULT 'appServer',
    parent_id       TEXT
);
CREATE INDEX threads_by_archived ON threads (archived, id DESC);
CREATE INDEX threads_by_cwd ON threads (cwd, id DESC);
CREATE INDEX threads_by_parent ON threads (parent_id) WHERE parent_id IS NOT NULL;

CREATE TABLE turns (
    id                  TEXT PRIMARY KEY,
    thread_id           TEXT NOT NULL REFERENCES threads (id) ON DELETE CASCADE,
    position            BIGINT NOT NULL,
    status              TEXT NOT NULL,
    error               TEXT,
    started_at          BIGINT,
    completed_at        BIGINT,
    duration_ms         BIGINT,
    usage               TEXT,
    client_request_id   TEXT,
    rolled_back         BOOLEAN NOT NULL DEFAULT FALSE,
    context_tokens      BIGINT
);
CREATE INDEX turns_by_thread ON turns (thread_id, position);
CREATE INDEX turns_in_progress ON turns (thread_id) WHERE status = 'inProgress';

CREATE TABLE items (
    id          TEXT PRIMARY KEY,
    thread_id   TEXT NOT NULL REFERENCES threads (id) ON DELETE CASCADE,
    turn_id     TEXT NOT NULL REFERENCES turns (id) ON DELETE CASCADE,
    position    BIGINT NOT NULL,
    kind        TEXT NOT NULL,
    payload     TEXT NOT NULL
);
CREATE INDEX items_by_turn ON items (turn_id, position);
CREATE INDEX items_by_thread ON items (thread_id, turn_id, position);

CREATE TABLE events (
    thread_id   TEXT NOT NULL REFERENCES threads (id) ON DELETE CASCADE,
    seq         BIGINT NOT NULL,
    kind        TEXT NOT NULL,
    payload     TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    PRIMARY KEY (thread_id, seq)
);

CREATE TABLE history (
    id            BIGSERIAL PRIMARY KEY,
    thread_id     TEXT NOT NULL REFERENCES threads (id) ON DELETE CASCADE,
    turn_id       TEXT NOT NULL REFERENCES turns (id) ON DELETE CASCADE,
    payload       TEXT NOT NULL,
    compacted_by  TEXT
);
CREATE INDEX history_by_thread ON history (thread_id, id);
-- Deleting a turn (its thread deleted) deletes its history rows through the foreign key.
CREATE INDEX history_by_turn ON history (turn_id);

-- The search index: one row per searchable item, with its text's tsvector ('simple': no
-- stemming, as SQLite's unicode61 tokenizer does not stem either). Punctuation becomes space
-- first, as unicode61 splits on it: PostgreSQL's parser would keep `src/main.rs` or `a@b.com`
-- as one word, and a search for `main` would not find it.
CREATE TABLE item_search (
    id          BIGSERIAL PRIMARY KEY,
    item_id     TEXT NOT NULL UNIQUE,
    thread_id   TEXT NOT NULL REFERENCES threads (id) ON DELETE CASCADE,
    turn_id     TEXT NOT NULL,
    text        TEXT NOT NULL,
    tsv         TSVECTOR GENERATED ALWAYS AS
                    (to_tsvector('simple', regexp_replace(text, '[[:punct:]]+', ' ', 'g'))) STORED
);
CREATE INDEX item_search_by_turn ON item_search (turn_id);
CREATE INDEX item_search_by_thread ON item_search (thread_id);
CREATE INDEX item_search_tsv ON item_search USING GIN (tsv);

CREATE TABLE memory_jobs (
    thread_id       TEXT PRIMARY KEY,
    project         TEXT NOT NULL,
    owner           TEXT,
    lease_until     BIGINT,
    attempts        BIGINT NOT NULL DEFAULT 0,
    extracted_seq   BIGINT NOT NULL DEFAULT 0,
    failed_seq      BIGINT NOT NULL DEFAULT 0,
    last_error      TEXT,
    updated_at      BIGINT NOT NULL
);

CREATE TABLE memories (
    thread_id   TEXT PRIMARY KEY,
    project     TEXT NOT NULL,
    raw_memory  TEXT NOT NULL,
    summary     TEXT NOT NULL,
    slug        TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);
CREATE INDEX memories_by_project ON memories (project, updated_at);

CREATE TABLE memory_summaries (
    project         TEXT PRIMARY KEY,
    summary         TEXT NOT NULL DEFAULT '',
    merged_until    BIGINT NOT NULL DEFAULT 0,
    owner           TEXT,
    lease_until     BIGINT,
    last_error      TEXT,
    updated_at      BIGINT NOT NULL
);

-- Which daemon runs a thread's turns. `epoch` grows with every change of holder; a commit
-- carries the epoch its daemon acquired and is refused when the row says otherwise (fencing).
-- No foreign key: a new thread's lease is taken before its first commit inserts the row.
CREATE TABLE thread_leases (
    thread_id   TEXT PRIMARY KEY,
    owner       TEXT NOT NULL,
    host        TEXT NOT NULL,
    epoch       BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL
);
CREATE INDEX thread_leases_by_expiry ON thread_leases (expires_at);

-- A request that reached a daemon not holding its thread, for the holder to run; the holder
-- writes the JSON-RPC answer into the same row.
CREATE TABLE thread_commands (
    id          BIGSERIAL PRIMARY KEY,
    thread_id   TEXT NOT NULL,
    target      TEXT NOT NULL,
    origin      TEXT NOT NULL,
    method      TEXT NOT NULL,
    params      TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    claimed_at  BIGINT,
    answer      TEXT,
    answered_at BIGINT
);
CREATE INDEX thread_commands_open ON thread_commands (target, id) WHERE claimed_at IS NULL;
CREATE INDEX thread_commands_by_age ON thread_commands (created_at);

-- Questions a thread's holder asked its clients, so clients of every daemon get them; the
-- first answer to reach the holder wins. Once resolved, the row keeps the decision for a
-- minute, so every daemon can tell the clients it asked how it ended.
CREATE TABLE pending_approvals (
    thread_id   TEXT NOT NULL,
    approval_id BIGINT NOT NULL,
    owner       TEXT NOT NULL,
    method      TEXT NOT NULL,
    params      TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    decision    TEXT,
    resolved_by TEXT,
    resolved_at BIGINT,
    PRIMARY KEY (thread_id, approval_id)
);
CREATE INDEX pending_approvals_resolved ON pending_approvals (resolved_at)
    WHERE resolved_at IS NOT NULL;
