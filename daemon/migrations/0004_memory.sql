-- Persistent memory (docs/memory.md). Phase 1 extracts one memory per thread (`memories`);
-- its job row (`memory_jobs`) carries an owner and a lease so a job whose daemon died is taken
-- over, and the attempts made on the thread's current content. Phase 2 merges a project's
-- memories into its summary (`memory_summaries`), leased the same way.
CREATE TABLE memory_jobs (
    thread_id TEXT PRIMARY KEY,
    project TEXT NOT NULL,
    owner TEXT,
    lease_until INTEGER,
    attempts INTEGER NOT NULL DEFAULT 0,
    -- The thread's last_seq when it was last extracted (0: never) and when an attempt failed.
    extracted_seq INTEGER NOT NULL DEFAULT 0,
    failed_seq INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    updated_at INTEGER NOT NULL
);

CREATE TABLE memories (
    thread_id TEXT PRIMARY KEY,
    project TEXT NOT NULL,
    raw_memory TEXT NOT NULL,
    summary TEXT NOT NULL,
    slug TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE INDEX memories_by_project ON memories (project, updated_at);

CREATE TABLE memory_summaries (
    project TEXT PRIMARY KEY,
    summary TEXT NOT NULL DEFAULT '',
    -- The newest memory merged in (memories updated later are new input).
    merged_until INTEGER NOT NULL DEFAULT 0,
    owner TEXT,
    lease_until INTEGER,
    last_error TEXT,
    updated_at INTEGER NOT NULL
);
