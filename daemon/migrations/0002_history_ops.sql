-- History operations: rollback, fork, compaction and full-text search
-- (see docs/decisions/004-history-operations.md).

-- Compaction replaces the model-facing history with a summary. The replaced rows stay (an audit
-- can read them, and rolling back the compacting turn brings them back): each names the turn that
-- compacted it, and reading the history skips rows whose compacting turn is not rolled back.
ALTER TABLE history ADD COLUMN compacted_by TEXT;

-- How many tokens the conversation held after the turn's last model response (input + output
-- of that response, or an estimate after a compaction). The next turn decides from the newest
-- non-rolled-back figure whether to compact before its first request.
ALTER TABLE turns ADD COLUMN context_tokens INTEGER;

-- `thread/read` and `thread/resume` read a thread's items in one range scan.
CREATE INDEX items_by_thread ON items (thread_id, turn_id, position);

-- Full-text search over what people look for in a thread: user messages, agent messages and
-- command lines. `item_search` holds the text once per item (rows of rolled-back turns are
-- removed); `item_fts` is an external-content FTS5 index over it, kept in the same transaction
-- as the items by the store's commit.
CREATE TABLE item_search (
    rowid       INTEGER PRIMARY KEY,
    item_id     TEXT NOT NULL UNIQUE,
    thread_id   TEXT NOT NULL REFERENCES threads (id) ON DELETE CASCADE,
    turn_id     TEXT NOT NULL,
    text        TEXT NOT NULL
);
CREATE INDEX item_search_by_turn ON item_search (turn_id);

CREATE VIRTUAL TABLE item_fts USING fts5 (
    text,
    content = 'item_search',
    content_rowid = 'rowid',
    tokenize = 'unicode61 remove_diacritics 2'
);

-- Threads stored before this migration become searchable at once.
INSERT INTO item_search (item_id, thread_id, turn_id, text)
SELECT item_id, thread_id, turn_id, text FROM (
    SELECT i.id AS item_id, i.thread_id AS thread_id, i.turn_id AS turn_id,
           CASE i.kind
               WHEN 'agentMessage' THEN json_extract(i.payload, '$.text')
               WHEN 'commandExecution' THEN json_extract(i.payload, '$.command')
               ELSE (SELECT group_concat(json_extract(c.value, '$.text'), char(10))
                     FROM json_each(i.payload, '$.content') AS c
                     WHERE json_extract(c.value, '$.type') = 'text')
           END AS text
    FROM items i JOIN turns t ON t.id = i.turn_id
    WHERE i.kind IN ('userMessage', 'agentMessage', 'commandExecution') AND t.rolled_back = 0
)
WHERE text IS NOT NULL AND text <> '';
INSERT INTO item_fts (item_fts) VALUES ('rebuild');
