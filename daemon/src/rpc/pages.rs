//! `thread/turns/list` and `thread/items/list`: a thread's turns and items a page at a time
//! (cursors are positions this daemon gives out).

use agentd_protocol::{
    SortDirection, ThreadItem, ThreadItemEntry, ThreadItemsListParams, ThreadItemsListResponse,
    ThreadTurnsListParams, ThreadTurnsListResponse, TurnItemsView,
};

use super::dispatch::Handled;
use super::error::RpcError;
use crate::daemon::Daemon;
use crate::threads::turns_from_rows;

/// Page size when none is given, and the most a client may ask for.
const DEFAULT_PAGE: u32 = 50;
const MAX_PAGE: u32 = 500;

/// `[start, end)` of a page over `len` things; the next cursor and the backwards one.
fn page(
    len: usize,
    cursor: Option<&str>,
    limit: Option<u32>,
) -> Result<(usize, usize, Option<String>), RpcError> {
    let start = match cursor {
        Some(c) => c
            .parse::<usize>()
            .map_err(|_| RpcError::invalid_params("cursor", "not a cursor this daemon gave"))?,
        None => 0,
    };
    let limit = limit.unwrap_or(DEFAULT_PAGE).clamp(1, MAX_PAGE) as usize;
    let start = start.min(len);
    let end = start.saturating_add(limit).min(len);
    Ok((start, end, (end < len).then(|| end.to_string())))
}

async fn turns(daemon: &Daemon, thread_id: &str) -> Result<Vec<agentd_protocol::Turn>, RpcError> {
    let store = daemon.hub.store();
    if store.thread(thread_id).await?.is_none() {
        return Err(RpcError::not_found(format!("thread {thread_id}")));
    }
    let rows = store.turns(thread_id).await?;
    let items = store.items(thread_id).await?;
    Ok(turns_from_rows(rows, items))
}

pub async fn turns_list(daemon: &Daemon, p: ThreadTurnsListParams) -> Result<Handled, RpcError> {
    let mut all = turns(daemon, &p.thread_id).await?;
    // Newest first unless asked otherwise (Codex's default).
    if p.sort_direction != Some(SortDirection::Asc) {
        all.reverse();
    }
    let (start, end, next_cursor) = page(all.len(), p.cursor.as_deref(), p.limit)?;
    let view = p.items_view.unwrap_or(TurnItemsView::Summary);
    let data = all
        .drain(start..end)
        .map(|mut t| {
            match view {
                TurnItemsView::Full => {}
                TurnItemsView::NotLoaded => t.items.clear(),
                TurnItemsView::Summary => t.items.retain(|i| {
                    matches!(i, ThreadItem::UserMessage(_) | ThreadItem::AgentMessage(_))
                }),
            }
            t.items_view = Some(view);
            t
        })
        .collect();
    Handled::new(ThreadTurnsListResponse {
        data,
        next_cursor,
        backwards_cursor: (start > 0).then(|| start.to_string()),
    })
}

pub async fn items_list(daemon: &Daemon, p: ThreadItemsListParams) -> Result<Handled, RpcError> {
    let all = turns(daemon, &p.thread_id).await?;
    let mut entries: Vec<ThreadItemEntry> = all
        .into_iter()
        .filter(|t| p.turn_id.as_ref().is_none_or(|id| *id == t.id))
        .flat_map(|t| {
            let turn_id = t.id;
            t.items.into_iter().map(move |item| ThreadItemEntry {
                turn_id: turn_id.clone(),
                item,
            })
        })
        .collect();
    if p.sort_direction == Some(SortDirection::Desc) {
        entries.reverse();
    }
    // A string cursor is ours; Codex's `{type: "item", itemId}` anchor starts after that item.
    let cursor = match &p.cursor {
        None => None,
        Some(serde_json::Value::String(s)) => Some(s.clone()),
        Some(anchor) => {
            let id = anchor
                .get("itemId")
                .and_then(|v| v.as_str())
                .ok_or_else(|| {
                    RpcError::invalid_params(
                        "cursor",
                        "a cursor string or {type: \"item\", itemId}",
                    )
                })?;
            let at = entries
                .iter()
                .position(|e| e.item.id() == id)
                .ok_or_else(|| RpcError::not_found(format!("item {id}")))?;
            Some((at + 1).to_string())
        }
    };
    let (start, end, next_cursor) = page(entries.len(), cursor.as_deref(), p.limit)?;
    Handled::new(ThreadItemsListResponse {
        data: entries.drain(start..end).collect(),
        next_cursor,
        backwards_cursor: (start > 0).then(|| start.to_string()),
    })
}
