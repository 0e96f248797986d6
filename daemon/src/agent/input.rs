//! What the model gets for a user's input: the text parts, and the images as URLs.
//!
//! `image {url}` inputs pass through when they are `https:`/`http:` or an image `data:` URL;
//! `localImage {path}` inputs are read from the daemon's disk — a regular file, at most
//! [`MAX_IMAGE_BYTES`], whose first bytes say PNG, JPEG, GIF or WebP — and sent as `data:` URLs.
//! Anything else is refused with a message naming the input, never silently dropped.

use agentd_protocol::UserInput;
use base64::Engine as _;

use crate::model::{image_type, is_image_data_url, HistoryItem};
use crate::port::ThreadError;

/// Largest image file read for the model.
pub const MAX_IMAGE_BYTES: u64 = 20 * 1024 * 1024;
/// Largest total of the image files one input reads: each is base64'd into the history and
/// resent with every later request, so the sum needs a bound as much as each one.
pub const MAX_TOTAL_IMAGE_BYTES: u64 = 64 * 1024 * 1024;
/// Images one input may carry.
pub const MAX_IMAGES: usize = 16;

/// The history entry for `input`. Reads local images off the async runtime.
///
/// The images are counted before any is read, and the files read share
/// [`MAX_TOTAL_IMAGE_BYTES`]: an input naming one big image a hundred thousand times costs an
/// error, not a hundred thousand reads and the daemon's memory.
pub async fn history_of(input: &[UserInput]) -> Result<HistoryItem, ThreadError> {
    history_within(input, MAX_IMAGE_BYTES, MAX_TOTAL_IMAGE_BYTES).await
}

/// [`history_of`] with the byte caps as values, so tests can use small ones.
async fn history_within(
    input: &[UserInput],
    per_image: u64,
    total: u64,
) -> Result<HistoryItem, ThreadError> {
    let count = input
        .iter()
        .filter(|p| matches!(p, UserInput::Image { .. } | UserInput::LocalImage { .. }))
        .count();
    if count > MAX_IMAGES {
        return Err(ThreadError::Invalid(
            "input",
            format!("at most {MAX_IMAGES} images per input, not {count}"),
        ));
    }
    let mut images = Vec::with_capacity(count);
    let mut budget = total;
    for (i, part) in input.iter().enumerate() {
        let url = match part {
            UserInput::Text { .. } | UserInput::Skill { .. } | UserInput::Mention { .. } => {
                continue
            }
            UserInput::Image { url } => remote_image(url).map_err(|e| invalid(i, e))?,
            UserInput::LocalImage { path } => {
                let path = std::path::PathBuf::from(path);
                // The total, when what is left of it is what limits this image.
                let cap = Cap {
                    bytes: per_image.min(budget),
                    total: (budget < per_image).then_some(total),
                };
                let (url, read) = tokio::task::spawn_blocking(move || local_image(&path, cap))
                    .await
                    .map_err(|e| invalid(i, e.to_string()))?
                    .map_err(|e| invalid(i, e))?;
                budget -= read.min(budget);
                url
            }
        };
        images.push(url);
    }
    Ok(HistoryItem::UserMessage {
        text: crate::port::input_text(input),
        images,
    })
}

fn invalid(index: usize, message: impl std::fmt::Display) -> ThreadError {
    ThreadError::Invalid("input", format!("input[{index}]: {message}"))
}

fn remote_image(url: &str) -> Result<String, String> {
    let data_ok = is_image_data_url(url);
    if data_ok || url.starts_with("https://") || url.starts_with("http://") {
        Ok(url.to_owned())
    } else {
        Err(
            "an image url must be https:, http: or a base64 data:image/(png|jpeg|gif|webp) URL"
                .into(),
        )
    }
}

/// How much of an image file may be read.
#[derive(Clone, Copy)]
struct Cap {
    bytes: u64,
    /// The input's total, when what is left of it is what sets `bytes` (for the error).
    total: Option<u64>,
}

/// The `data:` URL of the image file at `path` (at most `cap.bytes`), and the bytes read.
fn local_image(path: &std::path::Path, cap: Cap) -> Result<(String, u64), String> {
    if !path.is_absolute() {
        return Err(format!(
            "{}: a local image needs an absolute path",
            path.display()
        ));
    }
    let bytes = crate::paths::read_limited(path, cap.bytes).map_err(|e| match cap.total {
        Some(total) if e.kind() == std::io::ErrorKind::FileTooLarge => format!(
            "cannot read {}: over what is left of the {total} bytes the images of one input \
             may total",
            path.display()
        ),
        _ => format!("cannot read {}: {e}", path.display()),
    })?;
    let mime = image_type(&bytes)
        .ok_or_else(|| format!("{} is not a PNG, JPEG, GIF or WebP image", path.display()))?;
    let data = base64::engine::general_purpose::STANDARD.encode(&bytes);
    Ok((format!("data:{mime};base64,{data}"), bytes.len() as u64))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn text_and_images_become_one_history_entry() {
        let dir = tempfile::tempdir().unwrap();
        let png = dir.path().join("a.png");
        std::fs::write(&png, b"\x89PNG\r\n\x1a\nrest").unwrap();
        let input = vec![
            UserInput::text("look"),
            UserInput::LocalImage {
                path: png.display().to_string(),
            },
            UserInput::Image {
                url: "https://example.com/b.jpg".into(),
            },
        ];
        let HistoryItem::UserMessage { text, images } = history_of(&input).await.unwrap() else {
            panic!("not a user message");
        };
        assert_eq!(text, "look");
        assert!(images[0].starts_with("data:image/png;base64,iVBORw0KGg"));
        assert_eq!(images[1], "https://example.com/b.jpg");
    }

    #[tokio::test]
    async fn too_many_images_are_refused_before_any_is_read() {
        // A path that would block a read for good: were it read, the test would hang.
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("big.png");
        crate::paths::tests::make_fifo(&fifo);
        let part = UserInput::LocalImage {
            path: fifo.display().to_string(),
        };
        let input = vec![part; 100_000];
        let e = history_of(&input).await.unwrap_err().to_string();
        assert!(e.contains("at most 16 images per input, not 100000"), "{e}");
    }

    #[tokio::test]
    async fn the_images_of_one_input_share_a_byte_budget() {
        let dir = tempfile::tempdir().unwrap();
        let png = dir.path().join("a.png");
        let mut bytes = b"\x89PNG\r\n\x1a\n".to_vec();
        bytes.resize(100, 0);
        std::fs::write(&png, &bytes).unwrap();
        let part = UserInput::LocalImage {
            path: png.display().to_string(),
        };
        // Each of 100 bytes fits the per-image cap; three fit the total of 300, four do not.
        assert!(history_within(&vec![part.clone(); 3], 100, 300)
            .await
            .is_ok());
        let e = history_within(&vec![part; 4], 100, 300)
            .await
            .unwrap_err()
            .to_string();
        assert!(e.contains("input[3]"), "{e}");
        assert!(
            e.contains("the 300 bytes the images of one input may total"),
            "{e}"
        );
    }

    #[tokio::test]
    async fn what_is_not_an_image_is_refused_by_name() {
        let dir = tempfile::tempdir().unwrap();
        let txt = dir.path().join("a.txt");
        std::fs::write(&txt, b"hello").unwrap();
        for bad in [
            UserInput::LocalImage {
                path: txt.display().to_string(),
            },
            UserInput::LocalImage {
                path: "relative.png".into(),
            },
            UserInput::LocalImage {
                path: "/dev/zero".into(),
            },
            UserInput::Image {
                url: "file:///etc/passwd".into(),
            },
        ] {
            let e = history_of(&[UserInput::text("x"), bad]).await.unwrap_err();
            assert!(e.to_string().contains("input[1]"), "{e}");
        }
    }
}
