//! The checker daemon's Prometheus endpoint over real HTTP: `GET /metrics` on a free port of
//! 127.0.0.1 answers the text exposition with the checks by verdict and the chain connection
//! state, follows the counters as they change, and stops on shutdown.

use std::{net::SocketAddr, sync::Arc, time::Duration};

use kaisar_checker::{metrics, Metrics};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// `GET path` over HTTP/1.1 (`Connection: close`): the status line, the headers and the body.
async fn get(addr: SocketAddr, path: &str) -> std::io::Result<(String, String, String)> {
    let mut stream = tokio::net::TcpStream::connect(addr).await?;
    stream
        .write_all(
            format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").as_bytes(),
        )
        .await?;
    let mut response = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut response))
        .await
        .map_err(|_| std::io::Error::other("no answer in 10 s"))??;
    let response = String::from_utf8(response).expect("a text answer");
    let (head, body) = response.split_once("\r\n\r\n").expect("headers and a body");
    let (status, headers) = head.split_once("\r\n").unwrap_or((head, ""));
    Ok((status.to_string(), headers.to_lowercase(), body.to_string()))
}

#[tokio::test]
async fn metrics_endpoint_serves_checks_by_verdict_and_the_connection_state_over_http() {
    let m = Arc::new(Metrics::default());
    m.check_run("pass");
    m.check_run("pass");
    m.check_run("unreachable");
    m.set_connected(true);
    m.connection_made();
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let (addr, server) = metrics::serve("127.0.0.1:0".parse().unwrap(), m.clone(), stop_rx)
        .await
        .unwrap();
    assert_ne!(addr.port(), 0, "a free port was bound");

    let (status, headers, body) = get(addr, "/metrics").await.unwrap();
    assert!(status.contains(" 200 "), "{status}");
    assert!(
        headers.contains("content-type: text/plain; version=0.0.4"),
        "{headers}"
    );
    for line in [
        "# TYPE kaisar_checker_checks_total counter",
        "kaisar_checker_checks_total{verdict=\"pass\"} 2",
        "kaisar_checker_checks_total{verdict=\"unreachable\"} 1",
        "# TYPE kaisar_checker_chain_connected gauge",
        "kaisar_checker_chain_connected 1",
        "kaisar_checker_chain_connections_total 1",
    ] {
        assert!(body.lines().any(|l| l == line), "{line:?} not in:\n{body}");
    }

    // Live values: the next scrape sees the changes.
    m.check_run("fail");
    m.set_connected(false);
    let (_, _, body) = get(addr, "/metrics").await.unwrap();
    assert!(body
        .lines()
        .any(|l| l == "kaisar_checker_checks_total{verdict=\"fail\"} 1"));
    assert!(body
        .lines()
        .any(|l| l == "kaisar_checker_chain_connected 0"));

    // Only /metrics is served.
    let (status, _, _) = get(addr, "/").await.unwrap();
    assert!(status.contains(" 404 "), "{status}");

    // Shutdown stops the server.
    stop_tx.send(true).unwrap();
    tokio::time::timeout(Duration::from_secs(10), server)
        .await
        .expect("the server stops on shutdown")
        .unwrap();
    assert!(get(addr, "/metrics").await.is_err());
}
