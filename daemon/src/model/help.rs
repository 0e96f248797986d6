//! What to tell someone whose turn cannot reach a model: the three ways to get one. The same
//! text is in the README ("No model yet?") and in `agentd doctor`'s advice.

/// How to get a model, as a person reads it after an error.
pub const HOW_TO_GET_A_MODEL: &str = "To use a model: set OPENAI_API_KEY (OpenAI's API); or \
run a local OpenAI-compatible server (Ollama, LM Studio, llama.cpp's llama-server) and put in \
~/.config/agentd/config.toml:
    model_provider = \"ollama\"   # or \"lmstudio\", \"llamacpp\"
    model = \"qwen2.5-coder\"     # a model your server has
or run `make demo` to see the whole flow with a scripted model.";
