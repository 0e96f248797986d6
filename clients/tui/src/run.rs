//! The event loop: keys and daemon messages into the app, its frames out, one redraw per batch.
//! A dropped WebSocket is re-dialled, and a spawned daemon that exited is started again, with
//! backoff; the app then resumes the open thread from its last `seq`, so nothing is lost or
//! shown twice.

use std::time::Duration;

use anyhow::{Context, Result};
use crossterm::event::{
    DisableBracketedPaste, EnableBracketedPaste, Event, EventStream, KeyEventKind,
};
use futures_util::StreamExt;
use ratatui::DefaultTerminal;
use tokio::time::Instant;

use crate::app::App;
use crate::connection::{Connection, Endpoint, Incoming};
use crate::ui;

/// Messages handled before the screen is redrawn: a fast stream of deltas costs one draw per
/// batch, not one per delta.
const BATCH: usize = 512;
const RETRY_MIN: Duration = Duration::from_millis(250);
const RETRY_MAX: Duration = Duration::from_secs(5);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Connects, takes over the terminal, and runs until the user quits.
pub async fn run(endpoint: Endpoint, mut app: App) -> Result<()> {
    // Connect before touching the terminal, so a wrong address is a plain error message.
    let conn = tokio::time::timeout(CONNECT_TIMEOUT, Connection::open(&endpoint))
        .await
        .with_context(|| format!("connecting to {}: timed out", endpoint.describe()))??;
    let mut terminal = ratatui::init();
    // Without bracketed paste, a pasted newline would arrive as Enter and send half a message.
    let _ = crossterm::execute!(std::io::stdout(), EnableBracketedPaste);
    let result = event_loop(&mut terminal, &endpoint, conn, &mut app).await;
    let _ = crossterm::execute!(std::io::stdout(), DisableBracketedPaste);
    ratatui::restore();
    result
}

async fn next_incoming(conn: &mut Option<Connection>) -> Option<Incoming> {
    match conn {
        Some(c) => c.incoming.recv().await,
        None => std::future::pending().await,
    }
}

async fn retry_due(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// Returns false when the connection closed.
fn handle(app: &mut App, incoming: Option<Incoming>) -> bool {
    match incoming {
        Some(Incoming::Message(v)) => app.on_message(v),
        Some(Incoming::Garbled(why)) => app.status = why,
        Some(Incoming::Closed(reason)) => {
            app.on_disconnected(&reason);
            return false;
        }
        None => {
            app.on_disconnected("connection lost");
            return false;
        }
    }
    true
}

fn flush(app: &mut App, conn: &Option<Connection>) {
    for frame in app.take_outgoing() {
        // Without a connection the frame is dropped: `on_disconnected` already forgot every
        // request, and the reconnect re-sends what matters (initialize, resume).
        if let Some(c) = conn {
            let _ = c.send(frame);
        }
    }
}

async fn event_loop(
    terminal: &mut DefaultTerminal,
    endpoint: &Endpoint,
    conn: Connection,
    app: &mut App,
) -> Result<()> {
    let mut keys = EventStream::new();
    let mut conn = Some(conn);
    let mut retry_at: Option<Instant> = None;
    let mut backoff = RETRY_MIN;
    app.on_connected();
    loop {
        flush(app, &conn);
        terminal
            .draw(|f| ui::draw(f, app))
            .context("drawing the screen")?;
        if app.quit {
            return Ok(());
        }
        tokio::select! {
            key = keys.next() => match key {
                Some(Ok(Event::Key(k))) if k.kind == KeyEventKind::Press => app.on_key(k),
                Some(Ok(Event::Paste(text))) => app.on_paste(&text),
                Some(Ok(_)) => {}
                Some(Err(e)) => return Err(e).context("reading the terminal"),
                None => return Ok(()),
            },
            incoming = next_incoming(&mut conn) => {
                let mut open = handle(app, incoming);
                if open {
                    // The daemon spoke: the connection works, so a later drop retries quickly.
                    backoff = RETRY_MIN;
                }
                let mut n = 1;
                while open && n < BATCH {
                    let Some(c) = &mut conn else { break };
                    match c.incoming.try_recv() {
                        Ok(more) => open = handle(app, Some(more)),
                        Err(_) => break,
                    }
                    n += 1;
                }
                if !open {
                    // A dropped WebSocket is dialled again; a spawned daemon that exited is
                    // started again (on the same data directory, so the thread carries on).
                    // A daemon that exits before saying anything (a config error) is retried
                    // ever more slowly.
                    conn = None;
                    retry_at = Some(Instant::now() + backoff);
                    backoff = (backoff * 2).min(RETRY_MAX);
                }
            },
            () = retry_due(retry_at) => {
                match tokio::time::timeout(CONNECT_TIMEOUT, Connection::open(endpoint)).await {
                    Ok(Ok(c)) => {
                        conn = Some(c);
                        retry_at = None;
                        app.on_connected();
                    }
                    Ok(Err(e)) => {
                        app.status = format!("reconnecting: {e:#}");
                        backoff = (backoff * 2).min(RETRY_MAX);
                        retry_at = Some(Instant::now() + backoff);
                    }
                    Err(_) => {
                        app.status = "reconnecting: timed out".into();
                        backoff = (backoff * 2).min(RETRY_MAX);
                        retry_at = Some(Instant::now() + backoff);
                    }
                }
            },
        }
    }
}
