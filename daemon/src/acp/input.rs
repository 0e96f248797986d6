//! A prompt's content blocks as the daemon's user input: text as text, images as data URLs,
//! linked and embedded resources as references and context the model can read.

use agentd_protocol::UserInput;

use super::wire::{ContentBlock, EmbeddedResource};

/// The input, or why a block cannot be used (the prompt fails with -32602 saying so).
pub fn user_input(prompt: Vec<ContentBlock>) -> Result<Vec<UserInput>, String> {
    if prompt.is_empty() {
        return Err("the prompt is empty".into());
    }
    prompt.into_iter().map(one).collect()
}

fn one(block: ContentBlock) -> Result<UserInput, String> {
    Ok(match block {
        ContentBlock::Text { text } => UserInput::text(text),
        ContentBlock::Image {
            data, mime_type, ..
        } => image(&mime_type, &data)?,
        ContentBlock::Audio { .. } => {
            return Err(
                "audio prompts are not supported (promptCapabilities.audio is false)".into(),
            )
        }
        ContentBlock::ResourceLink { name, uri } => match uri.strip_prefix("file://") {
            Some(path) => UserInput::Mention {
                name,
                path: path.to_owned(),
            },
            None => UserInput::text(format!("[{name}]({uri})")),
        },
        ContentBlock::Resource { resource } => embedded(resource)?,
    })
}

fn image(mime_type: &str, data: &str) -> Result<UserInput, String> {
    if !mime_type.starts_with("image/") {
        return Err(format!("an image block of type {mime_type:?}"));
    }
    Ok(UserInput::Image {
        url: format!("data:{mime_type};base64,{data}"),
    })
}

fn embedded(resource: EmbeddedResource) -> Result<UserInput, String> {
    let EmbeddedResource {
        uri,
        text,
        blob,
        mime_type,
    } = resource;
    if let Some(text) = text {
        return Ok(UserInput::text(format!(
            "<context ref=\"{uri}\">\n{text}\n</context>"
        )));
    }
    match (blob, mime_type) {
        (Some(blob), Some(mime)) if mime.starts_with("image/") => image(&mime, &blob),
        _ => Ok(UserInput::text(format!(
            "[{uri}] (binary content, not included)"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_become_input() {
        let input = user_input(vec![
            ContentBlock::text("fix it"),
            ContentBlock::ResourceLink {
                name: "main.rs".into(),
                uri: "file:///p/src/main.rs".into(),
            },
            ContentBlock::Image {
                data: "AAAA".into(),
                mime_type: "image/png".into(),
                uri: None,
            },
        ])
        .unwrap();
        assert_eq!(input[0], UserInput::text("fix it"));
        assert_eq!(
            input[1],
            UserInput::Mention {
                name: "main.rs".into(),
                path: "/p/src/main.rs".into()
            }
        );
        assert_eq!(
            input[2],
            UserInput::Image {
                url: "data:image/png;base64,AAAA".into()
            }
        );
    }

    #[test]
    fn audio_and_empty_prompts_are_refused() {
        assert!(user_input(Vec::new()).is_err());
        let audio = ContentBlock::Audio {
            data: "x".into(),
            mime_type: "audio/wav".into(),
        };
        assert!(user_input(vec![audio]).unwrap_err().contains("audio"));
    }
}
