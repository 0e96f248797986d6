//! Fan-out: committed events to every live subscriber, never waiting on any of them.

use agentd_protocol::ThreadResyncRequiredNotification;
use bytes::Bytes;
use tokio::sync::mpsc;

use super::actor::ThreadActor;
use super::commit::Sealed;
use super::event::notice_frame;

impl ThreadActor {
    /// Offers every event to every live subscriber. A subscriber whose queue is full is dropped
    /// from live delivery and told to resync as soon as it has room; the others are not slowed
    /// by it.
    pub(super) fn fan_out(&mut self, events: &[Sealed]) {
        if events.is_empty() {
            return;
        }
        let thread_id = &self.row.id;
        self.live.retain(|sub| {
            for ev in events {
                if !sub.wants(ev.kind) {
                    continue;
                }
                match sub.tx.try_send(ev.frame.clone()) {
                    Ok(()) => {}
                    Err(mpsc::error::TrySendError::Full(_)) => {
                        tracing::info!(thread = %thread_id, conn = sub.conn, after_seq = ev.seq - 1,
                            "subscriber queue full; asking it to resync");
                        let notice = ThreadResyncRequiredNotification {
                            thread_id: thread_id.clone(),
                            after_seq: ev.seq - 1,
                            seq: ev.seq - 1,
                        };
                        tokio::spawn(send_when_room(sub.tx.clone(), notice_frame(&notice)));
                        return false;
                    }
                    Err(mpsc::error::TrySendError::Closed(_)) => return false,
                }
            }
            true
        });
    }
}

/// Waits for room in a lagging subscriber's queue, then sends the frame.
async fn send_when_room(tx: mpsc::Sender<Bytes>, frame: Bytes) {
    if let Ok(permit) = tx.reserve().await {
        permit.send(frame);
    }
}
