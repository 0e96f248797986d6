//! The thread tree: a sub-agent (a thread another thread spawned with `spawn_agent`) is an
//! ordinary thread whose `source` is `{"subAgent": {"thread_spawn": {"parent_thread_id": …}}}`.
//! Its parent is named nowhere else, so the list is put in tree order from `source` alone: each
//! thread followed by its children (oldest first), a child whose parent is not listed as a root.

use std::collections::{HashMap, HashSet};

use agentd_protocol::{SessionSource, SubAgentSource, Thread, ThreadSpawnSource};

/// Deeper than this the list stops indenting (and walks stop), so a cycle in what the daemon
/// sent cannot hang the client.
const MAX_DEPTH: usize = 16;

/// What a sub-agent thread's `source` says of its spawn; `None` for any other thread.
pub fn spawn_of(thread: &Thread) -> Option<&ThreadSpawnSource> {
    match &thread.source {
        SessionSource::SubAgent(SubAgentSource::ThreadSpawn(spawn)) => Some(spawn),
        _ => None,
    }
}

/// The thread that spawned this one.
pub fn parent_of(thread: &Thread) -> Option<&str> {
    spawn_of(thread).map(|s| s.parent_thread_id.as_str())
}

/// A sub-agent's nickname (what its parent's model calls it).
pub fn nickname(thread: &Thread) -> Option<&str> {
    spawn_of(thread).and_then(|s| s.agent_nickname.as_deref())
}

/// The threads in tree order: the roots in the order given (the daemon lists newest first),
/// each followed by its children in spawn order, recursively. Nothing is dropped: whatever a
/// cycle leaves unplaced is appended as a root.
pub fn tree_order(threads: Vec<Thread>) -> Vec<Thread> {
    let ids: HashSet<String> = threads.iter().map(|t| t.id.clone()).collect();
    let mut children: HashMap<String, Vec<usize>> = HashMap::new();
    let mut roots = Vec::new();
    for (i, t) in threads.iter().enumerate() {
        match parent_of(t) {
            Some(p) if p != t.id && ids.contains(p) => {
                children.entry(p.to_owned()).or_default().push(i)
            }
            _ => roots.push(i),
        }
    }
    for kids in children.values_mut() {
        kids.sort_by(|&a, &b| {
            let (a, b) = (&threads[a], &threads[b]);
            a.created_at
                .cmp(&b.created_at)
                .then_with(|| a.id.cmp(&b.id))
        });
    }
    let mut order = Vec::with_capacity(threads.len());
    let mut placed = vec![false; threads.len()];
    fn visit(
        i: usize,
        depth: usize,
        threads: &[Thread],
        children: &HashMap<String, Vec<usize>>,
        placed: &mut [bool],
        order: &mut Vec<usize>,
    ) {
        if placed[i] {
            return;
        }
        placed[i] = true;
        order.push(i);
        if depth >= MAX_DEPTH {
            return;
        }
        for &c in children
            .get(&threads[i].id)
            .map(Vec::as_slice)
            .unwrap_or(&[])
        {
            visit(c, depth + 1, threads, children, placed, order);
        }
    }
    for i in roots.into_iter().chain(0..threads.len()) {
        visit(i, 0, &threads, &children, &mut placed, &mut order);
    }
    let mut slots: Vec<Option<Thread>> = threads.into_iter().map(Some).collect();
    order.into_iter().filter_map(|i| slots[i].take()).collect()
}

/// How far each thread of a list is indented: the number of its ancestors in the list.
pub fn depths(threads: &[Thread]) -> Vec<usize> {
    let index: HashMap<&str, usize> = threads
        .iter()
        .enumerate()
        .map(|(i, t)| (t.id.as_str(), i))
        .collect();
    threads
        .iter()
        .map(|t| {
            let mut depth = 0;
            let mut seen = HashSet::from([t.id.as_str()]);
            let mut current = t;
            while let Some(&p) = parent_of(current).and_then(|p| index.get(p)) {
                let parent = &threads[p];
                if depth >= MAX_DEPTH || !seen.insert(parent.id.as_str()) {
                    break;
                }
                depth += 1;
                current = parent;
            }
            depth
        })
        .collect()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::transcript::tests::thread_json;
    use serde_json::{json, Value};

    pub(crate) fn child_json(id: &str, parent: &str, nickname: &str, created: i64) -> Value {
        let mut t = thread_json(id, 0);
        t["createdAt"] = json!(created);
        t["source"] = json!({"subAgent": {"thread_spawn": {
            "parent_thread_id": parent, "depth": 1, "agent_nickname": nickname, "agent_role": "default"}}});
        t
    }

    fn threads(values: Vec<Value>) -> Vec<Thread> {
        values
            .into_iter()
            .map(|v| serde_json::from_value(v).unwrap())
            .collect()
    }

    #[test]
    fn children_follow_their_parent_oldest_first_and_orphans_stay() {
        let list = threads(vec![
            child_json("c2", "p", "babbage", 20),
            thread_json("other", 0),
            child_json("g1", "c1", "curie", 30),
            child_json("c1", "p", "ada", 10),
            thread_json("p", 0),
            child_json("orphan", "gone", "lost", 5),
        ]);
        let ordered = tree_order(list);
        let ids: Vec<&str> = ordered.iter().map(|t| t.id.as_str()).collect();
        assert_eq!(ids, ["other", "p", "c1", "g1", "c2", "orphan"]);
        assert_eq!(depths(&ordered), [0, 0, 1, 2, 1, 0]);
        assert_eq!(nickname(&ordered[2]), Some("ada"));
        assert_eq!(parent_of(&ordered[3]), Some("c1"));
        assert_eq!(nickname(&ordered[0]), None);
    }

    #[test]
    fn a_cycle_loses_nothing_and_ends() {
        let list = threads(vec![
            child_json("a", "b", "x", 1),
            child_json("b", "a", "y", 2),
        ]);
        let ordered = tree_order(list);
        assert_eq!(ordered.len(), 2);
        assert!(depths(&ordered).iter().all(|&d| d <= MAX_DEPTH));
    }
}
