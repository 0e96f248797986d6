//! The image data the model takes: PNG, JPEG, GIF or WebP, known by their first bytes — not by
//! what the sender (a client's file, an MCP server) says they are.

/// Magic bytes and the type they mean (WebP is `RIFF` with `WEBP` at byte 8).
const IMAGE_TYPES: [(&[u8], &str); 4] = [
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF8", "image/gif"),
    (b"RIFF", "image/webp"),
];

/// The MIME type `bytes` start like, if they are an image the model takes.
pub fn image_type(bytes: &[u8]) -> Option<&'static str> {
    let webp = bytes.get(8..12) == Some(b"WEBP".as_slice());
    IMAGE_TYPES
        .iter()
        .find(|(magic, mime)| bytes.starts_with(magic) && (*mime != "image/webp" || webp))
        .map(|(_, mime)| *mime)
}

/// Whether a `data:` URL names one of those types.
pub fn is_image_data_url(url: &str) -> bool {
    IMAGE_TYPES
        .iter()
        .any(|(_, mime)| url.starts_with(&format!("data:{mime};base64,")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_types_are_told_by_their_first_bytes() {
        assert_eq!(image_type(b"\x89PNG\r\n\x1a\nrest"), Some("image/png"));
        assert_eq!(image_type(b"\xff\xd8\xff\xe0"), Some("image/jpeg"));
        assert_eq!(image_type(b"GIF89a"), Some("image/gif"));
        assert_eq!(image_type(b"RIFF\0\0\0\0WEBPVP8 "), Some("image/webp"));
        // RIFF is also WAV and AVI; a short RIFF cannot say WEBP.
        assert_eq!(image_type(b"RIFF\0\0\0\0WAVEfmt "), None);
        assert_eq!(image_type(b"RIFF"), None);
        assert_eq!(image_type(b""), None);
        assert_eq!(image_type(b"hello"), None);
    }

    #[test]
    fn data_urls_of_those_types_only() {
        assert!(is_image_data_url("data:image/gif;base64,R0lG"));
        assert!(!is_image_data_url("data:image/svg+xml;base64,PHN2"));
    }
}
