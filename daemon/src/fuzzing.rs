//! Entry points for the fuzz targets in `tests/fuzz/` (cargo-fuzz, nightly) and for the stable
//! smoke harness `tests/tests/fuzz_smoke.rs`, which feed them the same inputs. Each takes
//! arbitrary bytes and must return without panicking, whatever they are: these are the places
//! where bytes from a client, a model provider or the model itself are first interpreted.

use agentd_protocol::method::ClientMethod;
use agentd_protocol::methods::{
    AccountRead, ConfigRead, ConfigRequirementsRead, Initialize, ModelList, ThreadArchive,
    ThreadCompactStart, ThreadFork, ThreadList, ThreadRead, ThreadResume, ThreadRollback,
    ThreadSearch, ThreadSetName, ThreadStart, ThreadUnarchive, ThreadUnsubscribe, TurnInterrupt,
    TurnStart, TurnSteer,
};
use serde_json::Value;

use crate::rpc::decode::{decode, Decoded, Frame, Incoming};
use crate::rpc::dispatch::parse;

/// A client frame: decoded as the connection does, and each request's params parsed as the
/// dispatcher would for its method (plus, whatever the method, as every method's params).
pub fn rpc_frame(bytes: &[u8]) {
    let Ok(text) = std::str::from_utf8(bytes) else {
        return;
    };
    let decoded: Vec<Decoded> = match decode(text) {
        Frame::Single(d) => vec![d],
        Frame::Batch(items) => items,
    };
    for d in decoded {
        if let Ok(Incoming::Request { method, params, .. })
        | Ok(Incoming::Notification { method, params }) = d
        {
            params_for(&method, params.clone());
            for m in agentd_protocol::methods::CLIENT_METHODS {
                params_for(m, params.clone());
            }
            let _ = crate::auth::method_scope(&method);
        }
    }
}

/// Parses `params` as `method`'s, the way dispatch does (errors are answers, not panics).
fn params_for(method: &str, params: Option<Value>) {
    fn p<M: ClientMethod>(params: Option<Value>) {
        let _ = parse::<M>(params);
    }
    match method {
        Initialize::METHOD => p::<Initialize>(params),
        ThreadStart::METHOD => p::<ThreadStart>(params),
        ThreadResume::METHOD => p::<ThreadResume>(params),
        ThreadFork::METHOD => p::<ThreadFork>(params),
        ThreadList::METHOD => p::<ThreadList>(params),
        ThreadRead::METHOD => p::<ThreadRead>(params),
        ThreadArchive::METHOD => p::<ThreadArchive>(params),
        ThreadUnarchive::METHOD => p::<ThreadUnarchive>(params),
        ThreadUnsubscribe::METHOD => p::<ThreadUnsubscribe>(params),
        ThreadSetName::METHOD => p::<ThreadSetName>(params),
        ThreadRollback::METHOD => p::<ThreadRollback>(params),
        ThreadSearch::METHOD => p::<ThreadSearch>(params),
        ThreadCompactStart::METHOD => p::<ThreadCompactStart>(params),
        TurnStart::METHOD => p::<TurnStart>(params),
        TurnSteer::METHOD => p::<TurnSteer>(params),
        TurnInterrupt::METHOD => p::<TurnInterrupt>(params),
        ModelList::METHOD => p::<ModelList>(params),
        ConfigRead::METHOD => p::<ConfigRead>(params),
        AccountRead::METHOD => p::<AccountRead>(params),
        ConfigRequirementsRead::METHOD => p::<ConfigRequirementsRead>(params),
        _ => {}
    }
}

/// A provider's response body, through the SSE parser and both wire formats' assemblers. The
/// first byte picks how the body is split into network reads.
pub fn sse(bytes: &[u8]) {
    let Some((&first, body)) = bytes.split_first() else {
        return;
    };
    let chunk = usize::from(first % 64) + 1;
    crate::model::fuzz_sse(crate::model::WireApi::Responses, body, chunk);
    crate::model::fuzz_sse(crate::model::WireApi::Chat, body, chunk);
}

/// A patch as the model writes it.
pub fn apply_patch(bytes: &[u8]) {
    if let Ok(text) = std::str::from_utf8(bytes) {
        let _ = crate::tools::apply_patch::parse_patch(text);
    }
}

/// A `*.rules` file, then the command lines of its last lines judged against it.
pub fn exec_policy(bytes: &[u8]) {
    let Ok(text) = std::str::from_utf8(bytes) else {
        return;
    };
    let policy = crate::tools::execpolicy::ExecPolicy::parse("fuzz.rules", text)
        .unwrap_or_else(|_| crate::tools::execpolicy::ExecPolicy::empty());
    for line in text.lines().rev().take(4) {
        let argv: Vec<String> = line.split(' ').map(str::to_owned).collect();
        let _ = policy.assess(&argv);
        let _ = policy.assess(&["bash".to_owned(), "-lc".to_owned(), line.to_owned()]);
    }
}

/// The consumer of a model stream: events folded into thread items, as a turn does (see
/// `agent::fold`). The first byte picks the source of the events: a provider body through the
/// SSE parser and an assembler (what a real stream yields), or events decoded straight from the
/// bytes (numbers the assemblers would never produce, such as a summary index of 2^32-1).
pub fn model_fold(bytes: &[u8]) {
    use crate::agent::fold::{ResponseFold, Step};
    let Some((&mode, body)) = bytes.split_first() else {
        return;
    };
    let events = match mode % 3 {
        0 => crate::model::fuzz_sse(crate::model::WireApi::Responses, body, 7),
        1 => crate::model::fuzz_sse(crate::model::WireApi::Chat, body, 7),
        _ => raw_events(body),
    };
    let mut fold = ResponseFold::default();
    let mut effects = Vec::new();
    let mut next = 0i64;
    for event in events {
        let step = fold.apply(
            event,
            &mut || {
                next += 1;
                next
            },
            &mut effects,
        );
        match step {
            Ok(Step::More) | Ok(Step::Retrying { .. }) => {}
            Ok(Step::Completed(_)) | Err(_) => break,
        }
    }
    fold.close_open(&mut effects);
    check_effects(&effects);
}

/// Every item started is completed exactly once, at the position it started with.
fn check_effects(effects: &[crate::agent::fold::Effect]) {
    use crate::agent::fold::Effect;
    let mut open = std::collections::HashMap::new();
    for e in effects {
        match e {
            Effect::Started(item) => {
                assert!(
                    open.insert(item.id().to_owned(), ()).is_none(),
                    "started twice"
                );
            }
            Effect::Completed { item, .. } => {
                assert!(
                    open.remove(item.id()).is_some(),
                    "completed without a start"
                );
            }
            Effect::MessageDelta { item_id, .. } | Effect::ReasoningDelta { item_id, .. } => {
                assert!(
                    open.contains_key(item_id.as_str()),
                    "a delta of no open item"
                );
            }
        }
    }
    assert!(open.is_empty(), "items left open");
}

/// Model events from a compact byte code: an op byte, then its numbers and text.
fn raw_events(mut bytes: &[u8]) -> Vec<crate::model::ModelEvent> {
    use crate::model::{ModelEvent, OutputItem};
    let mut out = Vec::new();
    while let Some((&op, rest)) = bytes.split_first() {
        bytes = rest;
        let index = take_u32(&mut bytes);
        let text = take_text(&mut bytes);
        out.push(match op % 7 {
            0 => ModelEvent::TextDelta {
                output_index: index,
                delta: text,
            },
            1 => ModelEvent::ReasoningSummaryDelta {
                output_index: index,
                summary_index: take_u32(&mut bytes),
                delta: text,
            },
            2 => ModelEvent::ItemDone {
                output_index: index,
                item: OutputItem::Message { text },
            },
            3 => ModelEvent::ItemDone {
                output_index: index,
                item: OutputItem::Reasoning {
                    summary: vec![text; (index % 100) as usize],
                    encrypted_content: None,
                },
            },
            4 => ModelEvent::ItemDone {
                output_index: index,
                item: OutputItem::FunctionCall {
                    call_id: index.to_string(),
                    name: "shell".into(),
                    arguments: text,
                },
            },
            5 => ModelEvent::Retrying {
                attempt: index,
                max: index,
                reason: text,
            },
            _ => ModelEvent::Completed { usage: None },
        });
    }
    out
}

fn take_u32(bytes: &mut &[u8]) -> u32 {
    let n = bytes.len().min(4);
    let mut word = [0u8; 4];
    word[..n].copy_from_slice(&bytes[..n]);
    *bytes = &bytes[n..];
    u32::from_le_bytes(word)
}

fn take_text(bytes: &mut &[u8]) -> String {
    let Some((&len, rest)) = bytes.split_first() else {
        return String::new();
    };
    let n = rest.len().min(usize::from(len));
    let text = String::from_utf8_lossy(&rest[..n]).into_owned();
    *bytes = &rest[n..];
    text
}
