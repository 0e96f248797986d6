//! Output capture and truncation.
//!
//! A command may print gigabytes; the daemon must not. Everything here keeps
//! a fixed upper bound on retained bytes no matter how much is pushed:
//!
//! * the **client copy** keeps the first `client_output_cap` bytes (clients
//!   already saw the full stream through `on_output`, so the aggregate is only
//!   a bounded summary for the final item), and
//! * the **model copy** keeps a head and a tail of `model_output_cap / 2`
//!   bytes each, because for the model both the start of the output (what
//!   ran) and its end (the error, the summary) matter most.
//!
//! Bytes are kept raw and decoded only at the end, so a multi-byte UTF-8
//! character split across two reads is reassembled, not mangled.

use std::collections::VecDeque;

/// Both bounded copies of a command's combined stdout+stderr.
pub(crate) struct OutputCapture {
    client: HeadOnly,
    model: HeadTail,
}

/// The decoded result of an [`OutputCapture`].
pub(crate) struct CapturedOutput {
    pub(crate) aggregated: String,
    pub(crate) model_output: String,
    pub(crate) truncated: bool,
}

impl OutputCapture {
    pub(crate) fn new(client_cap: usize, model_cap: usize) -> Self {
        Self {
            client: HeadOnly::new(client_cap),
            model: HeadTail::new(model_cap),
        }
    }

    /// Records one chunk, in arrival order.
    pub(crate) fn push(&mut self, chunk: &[u8]) {
        self.client.push(chunk);
        self.model.push(chunk);
    }

    /// Decodes both copies (lossy UTF-8) and inserts omission markers.
    pub(crate) fn finish(self) -> CapturedOutput {
        let (aggregated, client_cut) = self.client.finish();
        let (model_output, model_cut) = self.model.finish();
        CapturedOutput {
            aggregated,
            model_output,
            truncated: client_cut || model_cut,
        }
    }

    /// Bytes currently allocated for retained output (for the memory-bound test).
    #[cfg(test)]
    pub(crate) fn allocated(&self) -> usize {
        self.client.buf.capacity() + self.model.head.capacity() + self.model.tail.capacity()
    }
}

/// Keeps the first `cap` bytes and counts the rest.
struct HeadOnly {
    buf: Vec<u8>,
    cap: usize,
    omitted: u64,
}

impl HeadOnly {
    fn new(cap: usize) -> Self {
        Self {
            buf: Vec::new(),
            cap,
            omitted: 0,
        }
    }

    fn push(&mut self, chunk: &[u8]) {
        let take = (self.cap - self.buf.len()).min(chunk.len());
        if take > 0 {
            reserve_within(&mut self.buf, take, self.cap);
            self.buf.extend_from_slice(&chunk[..take]);
        }
        self.omitted += (chunk.len() - take) as u64;
    }

    fn finish(self) -> (String, bool) {
        if self.omitted == 0 {
            return (String::from_utf8_lossy(&self.buf).into_owned(), false);
        }
        let kept = &self.buf[..complete_prefix_len(&self.buf)];
        let omitted = self.omitted + (self.buf.len() - kept.len()) as u64;
        let mut out = String::from_utf8_lossy(kept).into_owned();
        if !out.is_empty() && !out.ends_with('\n') {
            out.push('\n');
        }
        out.push_str(&format!("[… {omitted} bytes omitted …]\n"));
        (out, true)
    }
}

/// Keeps the first and the last `cap / 2` bytes, counting bytes and lines.
struct HeadTail {
    head: Vec<u8>,
    head_cap: usize,
    /// Ring of the most recent bytes that did not fit in `head`.
    tail: VecDeque<u8>,
    tail_cap: usize,
    total_bytes: u64,
    total_lines: u64,
}

impl HeadTail {
    fn new(cap: usize) -> Self {
        let head_cap = cap / 2;
        let tail_cap = cap - head_cap;
        // Empty until output comes: the caps are configured, and most commands print little.
        Self {
            head: Vec::new(),
            head_cap,
            tail: VecDeque::new(),
            tail_cap,
            total_bytes: 0,
            total_lines: 0,
        }
    }

    fn push(&mut self, chunk: &[u8]) {
        self.total_bytes += chunk.len() as u64;
        self.total_lines += count_newlines(chunk);
        let take = (self.head_cap - self.head.len()).min(chunk.len());
        reserve_within(&mut self.head, take, self.head_cap);
        self.head.extend_from_slice(&chunk[..take]);
        // Only bytes that missed the head go to the tail, so head and tail
        // never overlap and together hold everything while output is small.
        let rest = &chunk[take..];
        let rest = &rest[rest.len().saturating_sub(self.tail_cap)..];
        let overflow = (self.tail.len() + rest.len()).saturating_sub(self.tail_cap);
        self.tail.drain(..overflow);
        let needed = self.tail.len() + rest.len();
        if needed > self.tail.capacity() {
            let target = grown(self.tail.capacity(), needed, self.tail_cap);
            self.tail.reserve_exact(target - self.tail.len());
        }
        self.tail.extend(rest);
    }

    fn finish(mut self) -> (String, bool) {
        let tail = self.tail.make_contiguous();
        let kept = (self.head.len() + tail.len()) as u64;
        if kept == self.total_bytes {
            let mut all = self.head;
            all.extend_from_slice(tail);
            return (String::from_utf8_lossy(&all).into_owned(), false);
        }
        let head = cut_head(&self.head);
        let tail = cut_tail(tail);
        let omitted_bytes = self.total_bytes - (head.len() + tail.len()) as u64;
        let omitted_lines = self
            .total_lines
            .saturating_sub(count_newlines(head) + count_newlines(tail));
        let mut out = String::from_utf8_lossy(head).into_owned();
        if !out.is_empty() && !out.ends_with('\n') {
            out.push('\n');
        }
        out.push_str(&format!(
            "[… {omitted_bytes} bytes ({omitted_lines} lines) omitted …]\n"
        ));
        out.push_str(&String::from_utf8_lossy(tail));
        (out, true)
    }
}

/// Makes room for `extra` more bytes in `buf`, which never holds more than `cap`.
fn reserve_within(buf: &mut Vec<u8>, extra: usize, cap: usize) {
    let needed = buf.len() + extra;
    if needed > buf.capacity() {
        let target = grown(buf.capacity(), needed, cap);
        buf.reserve_exact(target - buf.len());
    }
}

/// The capacity a buffer bounded by `cap` grows to when it needs `needed` bytes: doubling, as
/// `Vec` does, but never past `cap` (`Vec`'s own doubling could allocate up to twice the bound),
/// and never more up front than output has asked for.
fn grown(capacity: usize, needed: usize, cap: usize) -> usize {
    needed.max(capacity.saturating_mul(2)).min(cap)
}

fn count_newlines(bytes: &[u8]) -> u64 {
    bytes.iter().filter(|&&b| b == b'\n').count() as u64
}

/// Trims the head to a line end if one is in its second half (whole lines
/// read better), otherwise to the last complete UTF-8 character.
fn cut_head(head: &[u8]) -> &[u8] {
    let end = complete_prefix_len(head);
    match head[..end].iter().rposition(|&b| b == b'\n') {
        Some(nl) if nl + 1 >= end / 2 => &head[..nl + 1],
        _ => &head[..end],
    }
}

/// Starts the tail after a line end if one is in its first half, otherwise
/// at the first UTF-8 character boundary.
fn cut_tail(tail: &[u8]) -> &[u8] {
    let tail = &tail[continuation_prefix_len(tail)..];
    match tail.iter().position(|&b| b == b'\n') {
        Some(nl) if nl < tail.len() / 2 => &tail[nl + 1..],
        _ => tail,
    }
}

fn is_continuation(b: u8) -> bool {
    b & 0xC0 == 0x80
}

/// Decodes a stream of output chunks as it arrives, without mangling a character whose bytes
/// two reads split between them: the incomplete tail of a chunk waits for the next one. So the
/// streamed text, joined, is exactly the lossy decoding of all the bytes.
#[derive(Debug, Default)]
pub struct Utf8Stream {
    carry: Vec<u8>,
}

impl Utf8Stream {
    /// The text of `chunk` (with what the previous chunk left over) up to any incomplete tail.
    pub fn push(&mut self, chunk: &[u8]) -> String {
        self.carry.extend_from_slice(chunk);
        let complete = complete_prefix_len(&self.carry);
        let text = String::from_utf8_lossy(&self.carry[..complete]).into_owned();
        self.carry.drain(..complete);
        text
    }

    /// Whatever is left at the end of the stream (an incomplete character: lossy).
    pub fn finish(&mut self) -> String {
        let text = String::from_utf8_lossy(&self.carry).into_owned();
        self.carry.clear();
        text
    }
}

/// Length of `bytes` without a trailing, incomplete UTF-8 sequence (one that
/// the cap cut in half). Invalid bytes are left for lossy decoding.
pub(crate) fn complete_prefix_len(bytes: &[u8]) -> usize {
    let n = bytes.len();
    for back in 1..=n.min(4) {
        let b = bytes[n - back];
        if !is_continuation(b) {
            let needed = match b {
                0xF0.. => 4,
                0xE0.. => 3,
                0xC0.. => 2,
                _ => 1,
            };
            return if needed > back { n - back } else { n };
        }
    }
    n
}

/// Number of leading continuation bytes (at most 3): the remains of a
/// character whose start was dropped.
pub(crate) fn continuation_prefix_len(bytes: &[u8]) -> usize {
    bytes
        .iter()
        .take(3)
        .take_while(|&&b| is_continuation(b))
        .count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utf8_stream_keeps_split_characters_whole() {
        let mut s = Utf8Stream::default();
        assert_eq!(s.push(b"caf\xC3"), "caf");
        assert_eq!(s.push(b"\xA9 \xE2\x82"), "\u{e9} ");
        assert_eq!(s.push(b"\xAC"), "\u{20ac}");
        assert_eq!(s.push(b"bad \xFF!"), "bad \u{fffd}!");
        assert_eq!(s.push(b"\xF0\x9F"), "");
        assert_eq!(s.finish(), "\u{fffd}");
        assert_eq!(s.finish(), "");
    }

    fn capture(client: usize, model: usize, chunks: &[&[u8]]) -> CapturedOutput {
        let mut c = OutputCapture::new(client, model);
        for chunk in chunks {
            c.push(chunk);
        }
        c.finish()
    }

    #[test]
    fn small_output_is_kept_whole() {
        let out = capture(100, 100, &[b"hello ", b"world\n"]);
        assert_eq!(out.aggregated, "hello world\n");
        assert_eq!(out.model_output, "hello world\n");
        assert!(!out.truncated);
    }

    #[test]
    fn exactly_at_caps_is_not_truncated() {
        let out = capture(4, 4, &[b"ab", b"cd"]);
        assert_eq!(out.aggregated, "abcd");
        assert_eq!(out.model_output, "abcd");
        assert!(!out.truncated);
    }

    #[test]
    fn client_copy_keeps_head_and_counts_omitted() {
        let out = capture(5, 1000, &[b"abc", b"defgh", b"ij"]);
        assert_eq!(out.aggregated, "abcde\n[… 5 bytes omitted …]\n");
        assert!(out.truncated);
    }

    #[test]
    fn client_copy_does_not_split_a_character() {
        // "é" is 2 bytes; a cap of 2 would keep half of it.
        let out = capture(2, 1000, &["aé".as_bytes(), b"z"]);
        assert_eq!(out.aggregated, "a\n[… 3 bytes omitted …]\n");
    }

    #[test]
    fn model_copy_prefers_line_boundaries() {
        let lines: String = (0..100).map(|i| format!("line {i:03}\n")).collect();
        let out = capture(1 << 20, 40, &[lines.as_bytes()]);
        // 20-byte head and tail, each trimmed to whole lines.
        assert_eq!(
            out.model_output,
            "line 000\nline 001\n[… 864 bytes (96 lines) omitted …]\nline 098\nline 099\n"
        );
        assert!(out.truncated);
        assert_eq!(out.aggregated, lines);
    }

    #[test]
    fn model_copy_cuts_at_char_boundaries_without_newlines() {
        let text = "é".repeat(50); // 100 bytes, no newline
        let out = capture(1 << 20, 11, &[text.as_bytes()]);
        // head 5 bytes -> 2 chars; tail 6 bytes -> 3 chars.
        assert_eq!(
            out.model_output,
            "éé\n[… 90 bytes (0 lines) omitted …]\nééé"
        );
    }

    #[test]
    fn utf8_split_across_chunks_is_reassembled() {
        let out = capture(100, 100, &[b"caf\xC3", b"\xA9\n"]);
        assert_eq!(out.aggregated, "café\n");
        assert_eq!(out.model_output, "café\n");
    }

    #[test]
    fn zero_caps_only_count() {
        let out = capture(0, 0, &[b"abc\n"]);
        assert_eq!(out.aggregated, "[… 4 bytes omitted …]\n");
        assert_eq!(out.model_output, "[… 4 bytes (1 lines) omitted …]\n");
    }

    #[test]
    fn memory_stays_bounded_under_huge_input() {
        let (client, model) = (1 << 20, 10 << 10);
        let mut c = OutputCapture::new(client, model);
        let chunk = b"y\n".repeat(16 << 10); // 32 KiB
        for _ in 0..(50_000_000 / chunk.len()) {
            c.push(&chunk);
            assert!(c.allocated() <= client + model);
        }
        let out = c.finish();
        assert!(out.truncated);
        assert!(out.model_output.starts_with("y\ny\n"));
        assert!(out.model_output.ends_with("y\ny\n"));
        assert!(out.model_output.len() <= model + 64);
    }

    /// A cap sizes a bound, not an allocation: a huge one costs only what output arrives.
    #[test]
    fn huge_caps_allocate_only_what_output_needs() {
        let mut c = OutputCapture::new(usize::MAX / 2, usize::MAX / 2);
        assert_eq!(c.allocated(), 0);
        c.push(b"hello\n");
        assert!(c.allocated() <= 64, "{}", c.allocated());
        let out = c.finish();
        assert_eq!(out.aggregated, "hello\n");
        assert_eq!(out.model_output, "hello\n");
    }

    #[test]
    fn utf8_boundary_helpers() {
        assert_eq!(complete_prefix_len(b"ab"), 2);
        assert_eq!(complete_prefix_len(b"a\xC3"), 1);
        assert_eq!(complete_prefix_len("é".as_bytes()), 2);
        assert_eq!(complete_prefix_len(b"a\xF0\x9F\x98"), 1);
        assert_eq!(complete_prefix_len("😀".as_bytes()), 4);
        assert_eq!(continuation_prefix_len(b"\xA9abc"), 1);
        assert_eq!(continuation_prefix_len(b"abc"), 0);
    }
}
