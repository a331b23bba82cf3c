//! `GET /`: an HTML page that says what the server is and which mode it
//! runs in, with setup for the common MCP clients filled in with this
//! server's `/mcp` URL, under a Content-Security-Policy.

use openphone_sim::{BUSINESS_KEY, Simulator};
use reqwest::StatusCode;

use crate::harness::{OAUTH, Server};

#[tokio::test(flavor = "multi_thread")]
async fn the_homepage_sets_clients_up_for_this_server() {
    let sim = Simulator::start().await.unwrap();
    for (key, mode) in [(BUSINESS_KEY, "Local mode"), (OAUTH, "Sign-in mode")] {
        let server = Server::start(&sim, key, &[]);
        let response = reqwest::get(format!("http://{}/", server.addr))
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let headers = response.headers().clone();
        assert_eq!(headers["content-type"], "text/html; charset=utf-8");
        let csp = headers["content-security-policy"].to_str().unwrap();
        assert!(
            csp.contains("default-src 'none'") && csp.contains("frame-ancestors 'none'"),
            "{csp}"
        );
        let page = response.text().await.unwrap();
        let url = server.url();
        assert!(page.contains(mode), "{page}");
        for setup in [
            format!("claude mcp add --transport http openphone {url}"),
            format!("&quot;mcp-remote&quot;, &quot;{url}&quot;"),
            format!("&quot;url&quot;: &quot;{url}&quot;"),
            "npx @modelcontextprotocol/inspector".to_owned(),
        ] {
            assert!(page.contains(&setup), "`{setup}` in {page}");
        }
        assert!(!page.contains("<script"), "no script");
        // Other answers carry a CSP too.
        let health = reqwest::get(format!("http://{}/health", server.addr))
            .await
            .unwrap();
        assert!(health.headers().contains_key("content-security-policy"));
    }
}
