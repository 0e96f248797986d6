//! The tools a turn offers, by name, in the order the model sees them.
//!
//! Adding a tool is one file (a [`ToolHandler`]) and one line in [`ToolRegistry::builtin`];
//! tools known only at run time (an MCP server's) are [`ToolRegistry::register`]ed the same way.

use std::sync::Arc;

use super::handler::ToolHandler;
use super::{patch, plan, shell};
use crate::model::ToolSpec;

#[derive(Clone, Default)]
pub struct ToolRegistry {
    tools: Vec<(String, Arc<dyn ToolHandler>)>,
}

impl ToolRegistry {
    /// agentd's own tools.
    pub fn builtin() -> Self {
        let mut registry = ToolRegistry::default();
        registry.register(Arc::new(shell::ShellTool));
        registry.register(Arc::new(patch::ApplyPatchTool));
        registry.register(Arc::new(plan::UpdatePlanTool));
        registry
    }

    /// Adds a tool; one registered later under the same name replaces it.
    pub fn register(&mut self, handler: Arc<dyn ToolHandler>) {
        let name = handler.spec().name().to_owned();
        self.tools.retain(|(n, _)| *n != name);
        self.tools.push((name, handler));
    }

    /// Keeps only the tools `keep` says yes to.
    pub fn retain(&mut self, keep: impl Fn(&str) -> bool) {
        self.tools.retain(|(name, _)| keep(name));
    }

    /// The router: the handler a call names.
    pub fn get(&self, name: &str) -> Option<&Arc<dyn ToolHandler>> {
        self.tools.iter().find(|(n, _)| n == name).map(|(_, h)| h)
    }

    pub fn names(&self) -> Vec<&str> {
        self.tools.iter().map(|(n, _)| n.as_str()).collect()
    }

    /// What the model is offered, every request.
    pub fn specs(&self) -> Vec<ToolSpec> {
        self.tools.iter().map(|(_, h)| h.spec()).collect()
    }
}
