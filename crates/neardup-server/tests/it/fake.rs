//! The HTTP layer against the in-memory backend.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use serde_json::json;

use crate::common::{app, app_with, body, TOKEN};

#[tokio::test]
async fn issue_11_token_required_except_healthz() {
    let a = app();
    for path in ["/v1/stats", "/metrics"] {
        let r = a.get(path, None).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{path}");
        assert!(r.error().contains("Bearer"), "{}", r.error());
        assert_eq!(r.headers["www-authenticate"], "Bearer");
        assert_eq!(
            a.get(path, Some("wrong-token-0123456789")).await.status,
            StatusCode::UNAUTHORIZED
        );
        assert_eq!(a.get(path, Some(TOKEN)).await.status, StatusCode::OK, "{path}");
    }
    for path in ["/v1/check", "/v1/add"] {
        let req = Request::post(path).body(Body::from(body(&[("a", "x")]))).unwrap();
        assert_eq!(a.send(req).await.status, StatusCode::UNAUTHORIZED, "{path}");
    }
    assert_eq!(a.fake.len(), 0, "an unauthenticated add added nothing");
    let r = a.get("/healthz", None).await;
    assert_eq!((r.status, r.json()), (StatusCode::OK, json!({"status": "ok"})));
}

#[tokio::test]
async fn issue_11_no_auth_mode_admits_all() {
    let a = app_with(|c| c.auth = neardup_server::Auth::InsecureNoAuth);
    assert_eq!(a.get("/v1/stats", None).await.status, StatusCode::OK);
}

#[tokio::test]
async fn issue_11_answers_in_request_order_and_add_adds_only_new() {
    let a = app();
    let r = a.post_json("/v1/add", &[("a", "one"), ("b", "two"), ("c", "one")]).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.headers["content-type"], "application/json");
    assert_eq!(
        r.json(),
        json!({"results": [
            {"id": "a", "status": "new", "reason": null, "duplicate_of": null, "similarity": null, "added": true},
            {"id": "b", "status": "new", "reason": null, "duplicate_of": null, "similarity": null, "added": true},
            {"id": "c", "status": "duplicate", "reason": "exact", "duplicate_of": "a", "similarity": 1.0, "added": false},
        ]})
    );
    let r = a.post_json("/v1/check", &[("d", "three"), ("e", "two")]).await;
    let results = r.json()["results"].clone();
    assert_eq!(results[0]["status"], "new");
    assert_eq!(results[0]["added"], false);
    assert_eq!(results[1]["duplicate_of"], "b");
    assert_eq!(a.fake.len(), 2, "check added nothing");
    assert_eq!(a.get("/v1/stats", Some(TOKEN)).await.json(), json!({"records": 2}));
    let r = a.post_json("/v1/add", &[]).await;
    assert_eq!(r.json(), json!({"results": []}));
}

#[tokio::test]
async fn issue_11_oversized_body_is_413() {
    let a = app_with(|c| c.max_body = 100);
    let big = body(&[("a", &"x".repeat(200))]);
    // Streamed: found while reading.
    let r = a.post("/v1/check", big.clone()).await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(r.error().contains("--max-body"), "{}", r.error());
    // Announced: refused before reading.
    let req = Request::post("/v1/add")
        .header("authorization", format!("Bearer {TOKEN}"))
        .header("content-length", big.len())
        .body(Body::from(big))
        .unwrap();
    let r = a.send(req).await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(r.error().contains("100 bytes"), "{}", r.error());
    assert_eq!(a.fake.len(), 0);
    // At the limit it passes.
    let small = body(&[("a", "x")]);
    let a = app_with(|c| c.max_body = small.len());
    assert_eq!(a.post("/v1/add", small).await.status, StatusCode::OK);
}

#[tokio::test]
async fn issue_11_too_many_records_is_413() {
    let a = app_with(|c| c.max_records = 2);
    let r = a.post_json("/v1/add", &[("a", "1"), ("b", "2"), ("c", "3")]).await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(
        r.error().contains("3 records") && r.error().contains("--max-records"),
        "{}",
        r.error()
    );
    assert_eq!(a.fake.len(), 0);
    assert_eq!(a.post_json("/v1/add", &[("a", "1"), ("b", "2")]).await.status, StatusCode::OK);
}

#[tokio::test]
async fn issue_11_bad_bodies_are_400_naming_the_problem() {
    let a = app();
    let cases: &[(&[u8], &str)] = &[
        (b"{\"records\": [", "not valid JSON"),
        (b"not json", "not valid JSON"),
        (b"", "empty"),
        (b"{}", "missing field `records`"),
        (br#"{"records": {"id": "a"}}"#, "`records` is an object, expected an array"),
        (br#"{"records": [{"id": "a"}]}"#, "records[0]: missing field `text`"),
        (
            br#"{"records": [{"id": "a", "text": "t"}, {"text": "t"}]}"#,
            "records[1]: missing field `id`",
        ),
        (br#"{"records": [{"id": "a", "text": 5}]}"#, "records[0].text is a number"),
        (
            b"{\"records\": [{\"id\": \"a\", \"text\": \"\xc3\x28\"}]}",
            "not valid UTF-8 (invalid byte at offset 34)",
        ),
    ];
    for (body, want) in cases {
        for path in ["/v1/check", "/v1/add"] {
            let r = a.post(path, body.to_vec()).await;
            assert_eq!(
                r.status,
                StatusCode::BAD_REQUEST,
                "{path} {}",
                String::from_utf8_lossy(body)
            );
            assert!(r.error().contains(want), "{:?} does not say {want:?}", r.error());
        }
    }
    assert_eq!(a.fake.len(), 0);
}

#[tokio::test]
async fn issue_11_backend_errors_map_to_400_and_500() {
    let a = app();
    let r = a.post_json("/v1/add", &[("a", "ok"), ("b", "FAIL")]).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.error(), "records[1]: cannot analyse");
    let r = a.post_json("/v1/check", &[("a", "BOOM")]).await;
    assert_eq!(r.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(r.error().contains("disk on fire"), "{}", r.error());
}

#[tokio::test]
async fn issue_11_unknown_routes_and_methods_answer_json() {
    let a = app();
    let r = a.get("/v2/nothing", Some(TOKEN)).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert!(r.error().contains("POST /v1/check"), "{}", r.error());
    let r = a.get("/v1/add", Some(TOKEN)).await;
    assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED);
    assert!(r.error().contains("GET"), "{}", r.error());
}

#[tokio::test]
async fn issue_11_metrics_count_requests_latency_and_records() {
    let a = app();
    a.post_json("/v1/add", &[("a", "one"), ("b", "one")]).await;
    a.post_json("/v1/check", &[("c", "two")]).await;
    a.post("/v1/check", "{").await;
    a.get("/v1/stats", None).await;
    let r = a.get("/metrics", Some(TOKEN)).await;
    assert_eq!(r.status, StatusCode::OK);
    let text = String::from_utf8(r.body).unwrap();
    let has = |line: &str| assert!(text.lines().any(|l| l == line), "no `{line}` in\n{text}");
    has(r#"neardup_http_requests_total{route="/v1/add",status="200"} 1"#);
    has(r#"neardup_http_requests_total{route="/v1/check",status="200"} 1"#);
    has(r#"neardup_http_requests_total{route="/v1/check",status="400"} 1"#);
    has(r#"neardup_http_requests_total{route="/v1/stats",status="401"} 1"#);
    has(r#"neardup_records_total{route="/v1/add",status="new"} 1"#);
    has(r#"neardup_records_total{route="/v1/add",status="duplicate"} 1"#);
    has(r#"neardup_records_total{route="/v1/check",status="new"} 1"#);
    has("neardup_records_added_total 1");
    has(r#"neardup_http_request_duration_seconds_count{route="/v1/check"} 2"#);
}

#[tokio::test]
async fn issue_11_bodies_in_flight_stay_within_the_budget() {
    // Room for one body of 2 KiB: a second request waits until the first
    // is answered, then goes through.
    let a = app_with(|c| {
        c.max_body = 2048;
        c.max_in_flight = 2048;
    });
    let first = body(&[("a", &"x".repeat(1500))]);
    let (tx, rx) = tokio::sync::mpsc::channel::<axum::body::Bytes>(4);
    let stream = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|b| (Ok::<_, std::io::Error>(b), rx))
    });
    let req = Request::post("/v1/add")
        .header("authorization", format!("Bearer {TOKEN}"))
        .header("content-length", first.len())
        .body(Body::from_stream(stream))
        .unwrap();
    let router = a.router.clone();
    let slow = tokio::spawn(async move {
        use tower::ServiceExt;
        router.oneshot(req).await.unwrap().status()
    });
    let (head, tail) = first.as_bytes().split_at(first.len() / 2);
    tx.send(axum::body::Bytes::copy_from_slice(head)).await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;

    let second = tokio::spawn({
        let router = a.router.clone();
        let req = Request::post("/v1/add")
            .header("authorization", format!("Bearer {TOKEN}"))
            .body(Body::from(body(&[("b", "y")])))
            .unwrap();
        async move {
            use tower::ServiceExt;
            router.oneshot(req).await.unwrap().status()
        }
    });
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(!second.is_finished(), "the second body was taken beyond the budget");
    assert_eq!(a.fake.len(), 0);

    tx.send(axum::body::Bytes::copy_from_slice(tail)).await.unwrap();
    drop(tx);
    assert_eq!(slow.await.unwrap(), StatusCode::OK);
    assert_eq!(second.await.unwrap(), StatusCode::OK);
    assert_eq!(a.fake.len(), 2);
}
