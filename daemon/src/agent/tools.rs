//! The tool registry the model sees. Tools themselves arrive with the tools issue; until then
//! the registry offers none and answers any call with an error the model can read, so the loop
//! (call → output → next request) is exercised end to end.

use crate::model::ToolSpec;

#[derive(Debug, Default)]
pub struct ToolRegistry {}

impl ToolRegistry {
    pub fn specs(&self) -> Vec<ToolSpec> {
        Vec::new()
    }

    /// Runs a call and returns the output for the model.
    pub async fn run(&self, name: &str, _arguments: &str) -> String {
        format!("error: no tool named `{name}` is available")
    }
}
