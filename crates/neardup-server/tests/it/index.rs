//! The service over a real index (in a temp directory), in-process.

use std::sync::Arc;

use axum::http::StatusCode;
use neardup_core::Settings;
use neardup_index::{settings_json, Index, OpenOptions};
use neardup_server::{Auth, Config, IndexBackend, Token};
use neardup_testing::{distinct_batch, distinct_text};
use serde_json::Value;

use crate::common::{App, Fake, TOKEN};

pub fn index_app(dir: &std::path::Path) -> (App, Arc<IndexBackend>) {
    let index =
        Index::create(dir, settings_json(&Settings::default()), &OpenOptions::new()).unwrap();
    let backend = Arc::new(IndexBackend::new(index).unwrap());
    let config = Config::new(Auth::Token(Token::new(TOKEN).unwrap()));
    let router = neardup_server::router(backend.clone(), config).unwrap();
    (App { router, fake: Arc::new(Fake::default()) }, backend)
}

fn results(r: &crate::common::Reply) -> Vec<Value> {
    assert_eq!(r.status, StatusCode::OK, "{}", String::from_utf8_lossy(&r.body));
    r.json()["results"].as_array().unwrap().clone()
}

#[tokio::test]
async fn issue_11_check_changes_nothing_add_adds_only_new_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let (a, backend) = index_app(&dir.path().join("idx"));
    let (t1, t2) = (distinct_text(1, 60), distinct_text(2, 60));
    // A near copy: one word in sixty changed.
    let near = t1.replacen(t1.split(' ').nth(30).unwrap(), "changed", 1);

    let r = results(&a.post_json("/v1/check", &[("a", &t1), ("b", &t2), ("c", &t1)]).await);
    assert_eq!(r[0]["status"], "new");
    assert_eq!(r[2]["status"], "duplicate");
    assert_eq!(r[2]["duplicate_of"], "a", "a duplicate of an earlier record of the request");
    assert!(r.iter().all(|x| x["added"] == false));
    assert_eq!(backend.index().records(), 0, "check added nothing");

    let r = results(
        &a.post_json("/v1/add", &[("a", &t1), ("b", &t2), ("c", &t1.to_uppercase()), ("d", &near)])
            .await,
    );
    let ids: Vec<&str> = r.iter().map(|x| x["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["a", "b", "c", "d"], "request order");
    assert_eq!((r[0]["status"].as_str(), r[0]["added"].as_bool()), (Some("new"), Some(true)));
    assert_eq!((r[1]["status"].as_str(), r[1]["added"].as_bool()), (Some("new"), Some(true)));
    assert_eq!(r[2]["reason"], "exact");
    assert_eq!(r[2]["duplicate_of"], "a");
    assert_eq!(r[2]["added"], false);
    assert_eq!(r[3]["reason"], "near");
    assert_eq!(r[3]["duplicate_of"], "a");
    let sim = r[3]["similarity"].as_f64().unwrap();
    assert!(sim > 0.8 && sim < 1.0, "{sim}");
    let stats = a.get("/v1/stats", Some(TOKEN)).await.json();
    assert_eq!(stats["kept"], 2, "{stats}");

    // Against history now: the same records are all duplicates, nothing added.
    let r = results(&a.post_json("/v1/add", &[("e", &t2), ("f", &t1)]).await);
    assert_eq!(
        (r[0]["duplicate_of"].as_str(), r[1]["duplicate_of"].as_str()),
        (Some("b"), Some("a"))
    );
    assert!(r.iter().all(|x| x["added"] == false));
    assert_eq!(
        a.get("/v1/stats", Some(TOKEN)).await.json(),
        stats,
        "an add of duplicates adds nothing"
    );
}

/// Readers checking while batches are added see each batch whole or not
/// at all.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn issue_11_concurrent_checks_see_whole_batches() {
    const BATCHES: u64 = 12;
    const PER: u64 = 8;
    let dir = tempfile::tempdir().unwrap();
    let (a, _) = index_app(&dir.path().join("idx"));
    let a = Arc::new(a);
    let batch = |b: u64| distinct_batch(b, PER, 40);
    let writer = {
        let a = a.clone();
        tokio::spawn(async move {
            for b in 0..BATCHES {
                let recs = batch(b);
                let refs: Vec<(&str, &str)> =
                    recs.iter().map(|(i, t)| (i.as_str(), t.as_str())).collect();
                let r = results(&a.post_json("/v1/add", &refs).await);
                assert!(r.iter().all(|x| x["added"] == true));
            }
        })
    };
    let mut readers = Vec::new();
    for reader in 0..3u64 {
        let a = a.clone();
        readers.push(tokio::spawn(async move {
            let mut seen_partial = Vec::new();
            for round in 0..20u64 {
                let b = (reader + round) % BATCHES;
                let recs = batch(b);
                // Checked under other ids: a duplicate names the added one.
                let refs: Vec<(String, &str)> =
                    recs.iter().map(|(i, t)| (format!("q{i}"), t.as_str())).collect();
                let refs: Vec<(&str, &str)> = refs.iter().map(|(i, t)| (i.as_str(), *t)).collect();
                let r = results(&a.post_json("/v1/check", &refs).await);
                let dups = r.iter().filter(|x| x["status"] == "duplicate").count() as u64;
                if dups != 0 && dups != PER {
                    seen_partial.push((b, dups));
                }
                tokio::task::yield_now().await;
            }
            seen_partial
        }));
    }
    writer.await.unwrap();
    for r in readers {
        assert_eq!(r.await.unwrap(), [], "checks saw part of a batch");
    }
    // And at the end every batch is there.
    let recs = batch(BATCHES - 1);
    let refs: Vec<(&str, &str)> = recs.iter().map(|(i, t)| (i.as_str(), t.as_str())).collect();
    let r = results(&a.post_json("/v1/check", &refs).await);
    assert!(r.iter().all(|x| x["status"] == "duplicate"));
}

/// Concurrent adds (grouped or not by the writer) answer as if made one
/// after the other: one copy of a text is added, every other names it.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn issue_11_concurrent_adds_answer_as_one_after_the_other() {
    let dir = tempfile::tempdir().unwrap();
    let (a, backend) = index_app(&dir.path().join("idx"));
    let a = Arc::new(a);
    let shared = distinct_text(7, 50);
    let mut tasks = Vec::new();
    for k in 0..16u64 {
        let a = a.clone();
        let shared = shared.clone();
        tasks.push(tokio::spawn(async move {
            let own = distinct_text(100 + k, 50);
            let (id_s, id_o) = (format!("s{k}"), format!("o{k}"));
            results(&a.post_json("/v1/add", &[(&id_s, &shared), (&id_o, &own)]).await)
        }));
    }
    let mut added = Vec::new();
    let mut named = Vec::new();
    for t in tasks {
        let r = t.await.unwrap();
        assert_eq!(r[1]["added"], true, "each request's own text is new");
        if r[0]["added"] == true {
            added.push(r[0]["id"].as_str().unwrap().to_owned());
        } else {
            assert_eq!(r[0]["reason"], "exact");
            named.push(r[0]["duplicate_of"].as_str().unwrap().to_owned());
        }
    }
    assert_eq!(added.len(), 1, "one copy added: {added:?}");
    assert!(named.iter().all(|n| *n == added[0]), "{named:?} vs {added:?}");
    assert_eq!(backend.index().stats().unwrap().kept, 17);
}
