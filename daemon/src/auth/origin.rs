//! The `Origin` check against cross-site WebSocket hijacking.
//!
//! Browsers let any page open a WebSocket to any address, loopback included, and say which page
//! did it in `Origin`. Non-browser clients send no `Origin`, and pass. A request that has one is
//! admitted only when it is the daemon's own origin (the built-in web page, served from the
//! listener itself) or one configured in `allowed_origins`. The own origins are derived from
//! the bound address, not from the request's `Host` header: trusting `Host` would let a DNS
//! rebinding page pass as same-origin.

use std::net::SocketAddr;

#[derive(Debug, Clone, Default)]
pub struct OriginPolicy {
    allowed: Vec<String>,
}

impl OriginPolicy {
    /// `configured` from `allowed_origins`, plus the listener's own origins.
    pub fn new(configured: &[String], bound: SocketAddr, tls: bool) -> Self {
        let scheme = if tls { "https" } else { "http" };
        let port = bound.port();
        let mut allowed: Vec<String> = configured.iter().map(|o| normalize(o)).collect();
        allowed.push(format!("{scheme}://{bound}"));
        if bound.ip().is_loopback() {
            for host in ["localhost", "127.0.0.1", "[::1]"] {
                allowed.push(format!("{scheme}://{host}:{port}"));
            }
        }
        OriginPolicy { allowed }
    }

    pub fn allows(&self, origin: &str) -> bool {
        let origin = normalize(origin);
        self.allowed.contains(&origin)
    }
}

/// Origins compare as ASCII-lowercase, without a trailing slash.
fn normalize(origin: &str) -> String {
    origin.trim().trim_end_matches('/').to_ascii_lowercase()
}

/// Checks a configured origin (the rule lives with the config that it checks).
pub use crate::config::validate_origin as validate;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_and_configured_origins_pass_others_do_not() {
        let p = OriginPolicy::new(
            &["https://App.example.com/".to_owned()],
            "127.0.0.1:7777".parse().unwrap(),
            false,
        );
        assert!(p.allows("http://127.0.0.1:7777"));
        assert!(p.allows("http://localhost:7777"));
        assert!(p.allows("https://app.example.com"));
        assert!(!p.allows("http://evil.example"));
        assert!(!p.allows("http://localhost:7778"));
        assert!(!p.allows("null"));
    }

    #[test]
    fn configured_origins_are_checked() {
        assert!(validate("https://a.example:8443").is_ok());
        assert!(validate("a.example").is_err());
        assert!(validate("https://a.example/path").is_err());
        assert!(validate("https://*").is_err());
    }
}
