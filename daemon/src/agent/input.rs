//! What the model gets for a user's input: the text parts, and the images as URLs.
//!
//! `image {url}` inputs pass through when they are `https:`/`http:` or an image `data:` URL;
//! `localImage {path}` inputs are read from the daemon's disk — a regular file, at most
//! [`MAX_IMAGE_BYTES`], whose first bytes say PNG, JPEG, GIF or WebP — and sent as `data:` URLs.
//! Anything else is refused with a message naming the input, never silently dropped.

use agentd_protocol::UserInput;
use base64::Engine as _;

use crate::model::HistoryItem;
use crate::port::ThreadError;

/// Largest image file read for the model.
pub const MAX_IMAGE_BYTES: u64 = 20 * 1024 * 1024;
/// Images one input may carry.
pub const MAX_IMAGES: usize = 16;

/// The history entry for `input`. Reads local images off the async runtime.
pub async fn history_of(input: &[UserInput]) -> Result<HistoryItem, ThreadError> {
    let mut images = Vec::new();
    for (i, part) in input.iter().enumerate() {
        let url = match part {
            UserInput::Text { .. } | UserInput::Skill { .. } | UserInput::Mention { .. } => {
                continue
            }
            UserInput::Image { url } => remote_image(url).map_err(|e| invalid(i, e))?,
            UserInput::LocalImage { path } => {
                let path = std::path::PathBuf::from(path);
                tokio::task::spawn_blocking(move || local_image(&path))
                    .await
                    .map_err(|e| invalid(i, e.to_string()))?
                    .map_err(|e| invalid(i, e))?
            }
        };
        images.push(url);
    }
    if images.len() > MAX_IMAGES {
        return Err(ThreadError::Invalid(
            "input",
            format!(
                "at most {MAX_IMAGES} images per input, not {}",
                images.len()
            ),
        ));
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
    let data_ok = IMAGE_TYPES
        .iter()
        .any(|(_, mime)| url.starts_with(&format!("data:{mime};base64,")));
    if data_ok || url.starts_with("https://") || url.starts_with("http://") {
        Ok(url.to_owned())
    } else {
        Err(
            "an image url must be https:, http: or a base64 data:image/(png|jpeg|gif|webp) URL"
                .into(),
        )
    }
}

/// Magic bytes and the type they mean.
const IMAGE_TYPES: [(&[u8], &str); 4] = [
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF8", "image/gif"),
    (b"RIFF", "image/webp"),
];

fn local_image(path: &std::path::Path) -> Result<String, String> {
    if !path.is_absolute() {
        return Err(format!(
            "{}: a local image needs an absolute path",
            path.display()
        ));
    }
    let bytes = crate::paths::read_limited(path, MAX_IMAGE_BYTES)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let webp = bytes.len() >= 12 && &bytes[8..12] == b"WEBP";
    let mime = IMAGE_TYPES
        .iter()
        .find(|(magic, mime)| bytes.starts_with(magic) && (*mime != "image/webp" || webp))
        .map(|(_, mime)| *mime)
        .ok_or_else(|| format!("{} is not a PNG, JPEG, GIF or WebP image", path.display()))?;
    let data = base64::engine::general_purpose::STANDARD.encode(&bytes);
    Ok(format!("data:{mime};base64,{data}"))
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
