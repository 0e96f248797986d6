-- Where a thread comes from (Codex's SessionSource, as JSON) and its kind for `thread/list
-- {sourceKinds}` (`exec`, `appServer`, `subAgentThreadSpawn`, …), and the thread that spawned it
-- when it is a sub-agent (`thread/list {parentThreadId}`).
ALTER TABLE threads ADD COLUMN source TEXT NOT NULL DEFAULT '"appServer"';
ALTER TABLE threads ADD COLUMN source_kind TEXT NOT NULL DEFAULT 'appServer';
ALTER TABLE threads ADD COLUMN parent_id TEXT;
CREATE INDEX threads_by_parent ON threads (parent_id) WHERE parent_id IS NOT NULL;
