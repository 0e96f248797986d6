//! The web page (`clients/web`), embedded in the binary and served on the WebSocket port:
//! `GET /` is the page, `/app.js` its script, `/sdk/…` the browser modules of `@agentd/client`,
//! `/manifest.webmanifest` and `/icons/…` what makes it installable on a phone's home screen.
//!
//! The files are `clients/web/embed/`, built by `make web-build` (tsc) and checked in, so building
//! the daemon needs no Node. `clients/web/scripts/assemble.mjs` fails when this table and
//! `embed/` disagree. The page itself is public; the WebSocket it opens still needs a token (it
//! reads one from `#token=…`), and its `Origin` is the daemon's own, which `auth::origin` admits.

use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{
    HeaderValue, CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, REFERRER_POLICY,
    X_CONTENT_TYPE_OPTIONS, X_FRAME_OPTIONS,
};
use hyper::{Response, StatusCode};

const HTML: &str = "text/html; charset=utf-8";
const JS: &str = "text/javascript; charset=utf-8";
const MANIFEST: &str = "application/manifest+json";
const PNG: &str = "image/png";

/// Scripts and connections from the page's own origin only; inline styles for the one
/// `<style>` block. No framing (the page holds a token).
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'unsafe-inline'; \
                   connect-src 'self'; img-src 'self' data:; manifest-src 'self'; base-uri 'none'; \
                   form-action 'none'; frame-ancestors 'none'";

/// A file of `clients/web/embed/`, compiled in.
macro_rules! embed {
    ($file:literal) => {
        include_bytes!(concat!("../../../clients/web/embed/", $file))
    };
}

/// (request path, content type, body)
const ASSETS: &[(&str, &str, &[u8])] = &[
    ("/", HTML, embed!("index.html")),
    ("/index.html", HTML, embed!("index.html")),
    ("/app.js", JS, embed!("app.js")),
    ("/sdk/index.js", JS, embed!("sdk/index.js")),
    ("/sdk/client.js", JS, embed!("sdk/client.js")),
    ("/sdk/errors.js", JS, embed!("sdk/errors.js")),
    ("/sdk/reducer.js", JS, embed!("sdk/reducer.js")),
    ("/sdk/transport.js", JS, embed!("sdk/transport.js")),
    ("/sdk/websocket.js", JS, embed!("sdk/websocket.js")),
    (
        "/sdk/protocol/index.js",
        JS,
        embed!("sdk/protocol/index.js"),
    ),
    (
        "/manifest.webmanifest",
        MANIFEST,
        embed!("manifest.webmanifest"),
    ),
    ("/icons/icon-192.png", PNG, embed!("icons/icon-192.png")),
    ("/icons/icon-512.png", PNG, embed!("icons/icon-512.png")),
    (
        "/icons/icon-maskable-512.png",
        PNG,
        embed!("icons/icon-maskable-512.png"),
    ),
    (
        "/icons/apple-touch-icon.png",
        PNG,
        embed!("icons/apple-touch-icon.png"),
    ),
];

/// The embedded file at `path`, as a response; `None` if there is none.
pub fn serve(path: &str) -> Option<Response<Full<Bytes>>> {
    let (_, content_type, body) = ASSETS.iter().find(|(p, _, _)| *p == path)?;
    let mut resp = Response::new(Full::new(Bytes::from_static(body)));
    *resp.status_mut() = StatusCode::OK;
    let h = resp.headers_mut();
    h.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    // The files change with the binary; a browser must not keep a page that no longer matches.
    h.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    h.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    h.insert(CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    Some(resp)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_and_its_modules_are_served() {
        for path in ["/", "/app.js", "/sdk/index.js", "/sdk/client.js"] {
            let resp = serve(path).unwrap_or_else(|| panic!("{path} is not embedded"));
            assert_eq!(resp.status(), StatusCode::OK);
        }
        assert!(serve("/nope").is_none());
        assert!(serve("/sdk/../Cargo.toml").is_none());
        let (_, _, app) = ASSETS.iter().find(|(p, _, _)| *p == "/app.js").unwrap();
        let app = std::str::from_utf8(app).unwrap();
        assert!(app.contains("./sdk/index.js"), "app.js imports the SDK");
        let icon = serve("/icons/icon-192.png").unwrap();
        assert_eq!(icon.headers()[CONTENT_TYPE], PNG);
        let manifest = serve("/manifest.webmanifest").unwrap();
        assert_eq!(manifest.headers()[CONTENT_TYPE], MANIFEST);
    }
}
