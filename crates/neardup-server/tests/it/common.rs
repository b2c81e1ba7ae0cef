//! An in-memory backend and a one-request client over the router.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use neardup_server::{Auth, Backend, BackendError, Config, Outcome, Reason, Rec, Status, Token};
use serde_json::Value;
use tower::ServiceExt;

pub const TOKEN: &str = "test-token-0123456789";

/// Exact matching on the text, first id wins: enough to see the service
/// pass the backend's answers through. A record whose text is `FAIL` is
/// refused as the caller's fault; `BOOM` fails the index.
#[derive(Default)]
pub struct Fake {
    seen: RwLock<HashMap<String, String>>,
}

impl Fake {
    fn decide(
        &self,
        seen: &HashMap<String, String>,
        records: &[Rec],
    ) -> Result<Vec<Outcome>, BackendError> {
        let mut batch: HashMap<&str, &str> = HashMap::new();
        let mut out = Vec::new();
        for (i, r) in records.iter().enumerate() {
            match r.text.as_str() {
                "FAIL" => {
                    return Err(BackendError::Record { index: i, message: "cannot analyse".into() })
                }
                "BOOM" => return Err(BackendError::Internal("disk on fire".into())),
                _ => {}
            }
            let of = seen
                .get(&r.text)
                .map(String::as_str)
                .or_else(|| batch.get(r.text.as_str()).copied());
            out.push(match of {
                Some(of) => Outcome {
                    status: Status::Duplicate,
                    reason: Some(Reason::Exact),
                    duplicate_of: Some(of.to_owned()),
                    similarity: Some(1.0),
                    added: false,
                },
                None => {
                    batch.insert(&r.text, &r.id);
                    Outcome {
                        status: Status::New,
                        reason: None,
                        duplicate_of: None,
                        similarity: None,
                        added: false,
                    }
                }
            });
        }
        Ok(out)
    }

    pub fn len(&self) -> usize {
        self.seen.read().unwrap().len()
    }
}

impl Backend for Fake {
    fn check(&self, records: &[Rec]) -> Result<Vec<Outcome>, BackendError> {
        self.decide(&self.seen.read().unwrap(), records)
    }

    fn add(&self, records: &[Rec]) -> Result<Vec<Outcome>, BackendError> {
        let mut seen = self.seen.write().unwrap();
        let mut out = self.decide(&seen, records)?;
        for (r, o) in records.iter().zip(&mut out) {
            if o.status == Status::New {
                seen.insert(r.text.clone(), r.id.clone());
                o.added = true;
            }
        }
        Ok(out)
    }

    fn stats(&self) -> Result<Value, BackendError> {
        Ok(serde_json::json!({ "records": self.len() }))
    }

    fn flush(&self) -> Result<(), BackendError> {
        Ok(())
    }
}

pub struct App {
    pub router: axum::Router,
    pub fake: Arc<Fake>,
}

pub fn app_with(f: impl FnOnce(&mut Config)) -> App {
    let fake = Arc::new(Fake::default());
    let mut config = Config::new(Auth::Token(Token::new(TOKEN).unwrap()));
    f(&mut config);
    App { router: neardup_server::router(fake.clone(), config).unwrap(), fake }
}

pub fn app() -> App {
    app_with(|_| {})
}

pub struct Reply {
    pub status: StatusCode,
    pub headers: axum::http::HeaderMap,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }

    /// The `error` message of a refusal (checked to be JSON).
    pub fn error(&self) -> String {
        self.json()["error"].as_str().expect("an error message").to_owned()
    }
}

impl App {
    pub async fn send(&self, req: Request<Body>) -> Reply {
        let r = self.router.clone().oneshot(req).await.unwrap();
        let status = r.status();
        let headers = r.headers().clone();
        let body = r.into_body().collect().await.unwrap().to_bytes().to_vec();
        Reply { status, headers, body }
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> Reply {
        let mut b = Request::get(path);
        if let Some(t) = token {
            b = b.header("authorization", format!("Bearer {t}"));
        }
        self.send(b.body(Body::empty()).unwrap()).await
    }

    pub async fn post(&self, path: &str, body: impl Into<Body>) -> Reply {
        let req = Request::post(path)
            .header("authorization", format!("Bearer {TOKEN}"))
            .body(body.into())
            .unwrap();
        self.send(req).await
    }

    pub async fn post_json(&self, path: &str, records: &[(&str, &str)]) -> Reply {
        self.post(path, body(records)).await
    }
}

pub fn body(records: &[(&str, &str)]) -> String {
    let recs: Vec<Value> =
        records.iter().map(|(id, text)| serde_json::json!({"id": id, "text": text})).collect();
    serde_json::json!({ "records": recs }).to_string()
}
