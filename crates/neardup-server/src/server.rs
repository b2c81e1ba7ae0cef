//! The HTTP layer: routes, authentication, limits, metrics, and the
//! process's life from bind to a graceful stop.
//!
//! Requests are read and limited on tokio's reactor; parsing and the
//! backend's work run on its blocking pool, so a long add or a 16 MiB
//! body never stalls other connections. Adds go to the one writer thread
//! (`adds`), which groups those that queue up into one batch.

use std::future::{Future, IntoFuture};
use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use http_body_util::BodyExt;

use crate::adds::Adds;
use crate::api::{self, Refusal, Results};
use crate::auth::Token;
use crate::backend::{Backend, BackendError};
use crate::error::Error;
use crate::metrics::Metrics;

/// Default `--max-body`: 16 MiB.
pub const DEFAULT_MAX_BODY: usize = 16 << 20;
/// Default `--max-records`: 10,000 records per request.
pub const DEFAULT_MAX_RECORDS: usize = 10_000;
/// Default `--max-in-flight`: request bodies held at once, 128 MiB.
pub const DEFAULT_MAX_IN_FLIGHT: usize = 128 << 20;
/// Analyses of adds waiting for the writer, all together, in KiB: an add
/// past it waits unprepared and is analysed in its turn.
const PREPARED_KIB: usize = 64 << 10;
/// Default `--shutdown-grace`: how long a stop waits for requests in
/// flight.
pub const DEFAULT_SHUTDOWN_GRACE: Duration = Duration::from_secs(30);

/// Who may call the service.
#[derive(Clone, Debug)]
pub enum Auth {
    /// Requests must present this bearer token (`/healthz` excepted).
    Token(Token),
    /// No token (`--insecure-no-auth`): loopback addresses only.
    InsecureNoAuth,
}

/// How the service answers.
#[derive(Clone, Debug)]
pub struct Config {
    /// Who may call.
    pub auth: Auth,
    /// Largest request body, in bytes (413 past it).
    pub max_body: usize,
    /// Most records in one request (413 past it).
    pub max_records: usize,
    /// Bytes of request bodies held at once, all requests together: a
    /// request whose body would pass it waits for others to finish (so
    /// that many clients at once cannot make the service hold many
    /// `max_body`s). At least `max_body`.
    pub max_in_flight: usize,
    /// After a stop signal, how long requests in flight may take; past it
    /// their connections are closed (adds already decided still land).
    pub shutdown_grace: Duration,
}

impl Config {
    /// The defaults' limits with `auth`.
    pub fn new(auth: Auth) -> Config {
        Config {
            auth,
            max_body: DEFAULT_MAX_BODY,
            max_records: DEFAULT_MAX_RECORDS,
            max_in_flight: DEFAULT_MAX_IN_FLIGHT,
            shutdown_grace: DEFAULT_SHUTDOWN_GRACE,
        }
    }
}

struct Shared {
    backend: Arc<dyn Backend>,
    config: Config,
    /// Permits for the bytes of bodies held, in KiB ([`Config::max_in_flight`]).
    in_flight: Arc<tokio::sync::Semaphore>,
    /// Permits for the analyses of queued adds, in KiB ([`PREPARED_KIB`]).
    prepared: Arc<tokio::sync::Semaphore>,
    metrics: Metrics,
    /// The one writer.
    adds: Adds,
}

type AppState = Arc<Shared>;

/// The service's routes over `backend`: `POST /v1/check`, `POST /v1/add`,
/// `GET /v1/stats`, `GET /metrics` (all behind the token), `GET /healthz`.
///
/// # Errors
/// The writer's thread cannot be started.
pub fn router(backend: Arc<dyn Backend>, config: Config) -> Result<Router, Error> {
    Ok(app(backend, config)?.0)
}

/// The routes and the state they share (whose writer a stop finishes).
fn app(backend: Arc<dyn Backend>, config: Config) -> Result<(Router, AppState), Error> {
    let adds = Adds::start(backend.clone(), config.max_records)
        .map_err(|source| Error::Io { what: "starting the writer thread".into(), source })?;
    let kib = kib(config.max_in_flight.max(config.max_body));
    let in_flight = Arc::new(tokio::sync::Semaphore::new(kib as usize));
    let prepared = Arc::new(tokio::sync::Semaphore::new(PREPARED_KIB));
    let state: AppState =
        Arc::new(Shared { backend, config, in_flight, prepared, metrics: Metrics::new(), adds });
    let protected = Router::new()
        .route("/v1/check", post(check))
        .route("/v1/add", post(add))
        .route("/v1/stats", get(stats))
        .route("/metrics", get(metrics))
        .route_layer(middleware::from_fn_with_state(state.clone(), authenticate));
    let routes = Router::new()
        .route("/healthz", get(healthz))
        .merge(protected)
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(middleware::from_fn_with_state(state.clone(), track))
        .with_state(state.clone());
    Ok((routes, state))
}

/// A refusal: its status and what is wrong, answered as
/// `{"error": message}`.
struct Refused {
    status: StatusCode,
    message: String,
}

fn refuse(status: StatusCode, message: impl Into<String>) -> Refused {
    Refused { status, message: message.into() }
}

impl IntoResponse for Refused {
    fn into_response(self) -> Response {
        let body = serde_json::json!({ "error": self.message });
        let mut r = (self.status, [(header::CONTENT_TYPE, "application/json")], body.to_string())
            .into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            r.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        r
    }
}

fn json(body: Vec<u8>) -> Response {
    (StatusCode::OK, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}

impl From<Refusal> for Refused {
    fn from(r: Refusal) -> Refused {
        match r {
            Refusal::BadRequest(m) => refuse(StatusCode::BAD_REQUEST, m),
            Refusal::TooLarge(m) => refuse(StatusCode::PAYLOAD_TOO_LARGE, m),
        }
    }
}

fn backend_error(e: &BackendError) -> Refused {
    match e {
        BackendError::Record { .. } => refuse(StatusCode::BAD_REQUEST, e.to_string()),
        BackendError::Internal(_) => {
            log(&format!("error: {e}"));
            refuse(StatusCode::INTERNAL_SERVER_ERROR, format!("the index failed: {e}"))
        }
    }
}

/// One line on stderr for the operator: the service has no other log.
#[allow(clippy::print_stderr)]
fn log(line: &str) {
    eprintln!("neardup serve: {line}");
}

/// The route a path counts under in metrics.
fn route_name(path: &str) -> &'static str {
    match path {
        "/v1/check" => "/v1/check",
        "/v1/add" => "/v1/add",
        "/v1/stats" => "/v1/stats",
        "/healthz" => "/healthz",
        "/metrics" => "/metrics",
        _ => "other",
    }
}

async fn track(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let route = route_name(req.uri().path());
    let started = Instant::now();
    let response = next.run(req).await;
    state.metrics.request(route, response.status().as_u16(), started.elapsed().as_secs_f64());
    response
}

async fn authenticate(State(state): State<AppState>, req: Request, next: Next) -> Response {
    if let Auth::Token(token) = &state.config.auth {
        let presented = req.headers().get(header::AUTHORIZATION).map(HeaderValue::as_bytes);
        if !token.admits(presented) {
            return refuse(
                StatusCode::UNAUTHORIZED,
                "missing or wrong token: send `Authorization: Bearer <token>`",
            )
            .into_response();
        }
    }
    next.run(req).await
}

/// Past the limit, up to this many more bytes of a body are read and
/// dropped before the 413 goes out, so that a client that writes its whole
/// body before reading the answer gets the answer, not a reset connection.
const DRAIN_BYTES: u64 = 64 << 20;
/// And for at most this long.
const DRAIN_TIME: Duration = Duration::from_secs(10);

/// Whole KiB holding `bytes` (at least 1), as semaphore permits.
fn kib(bytes: usize) -> u32 {
    u32::try_from(bytes.div_ceil(1024).max(1)).unwrap_or(u32::MAX)
}

/// The body, up to `max` bytes, with the share of the in-flight budget it
/// holds until the answer is made. A larger one is refused with 413: one
/// announced as larger, without keeping any of it; one that turns out
/// larger, once it passes `max`.
async fn read_body(
    state: &Shared,
    headers: &HeaderMap,
    body: Body,
) -> Result<(Bytes, tokio::sync::OwnedSemaphorePermit), Refused> {
    let max = state.config.max_body;
    let too_large = || {
        refuse(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("the body is over the limit of {max} bytes (--max-body)"),
        )
    };
    let announced = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if announced.is_some_and(|n| n > max as u64) {
        drain(body, 0, max as u64 + DRAIN_BYTES).await;
        return Err(too_large());
    }
    // A body of unknown length may take up to `max`.
    let size = announced.map_or(max, |n| n as usize);
    let permit = state
        .in_flight
        .clone()
        .acquire_many_owned(kib(size))
        .await
        .map_err(|_| refuse(StatusCode::SERVICE_UNAVAILABLE, "the service is stopping"))?;
    let mut body = body;
    let mut buf = Vec::with_capacity(announced.map_or(0, |n| n as usize));
    while let Some(frame) = body.frame().await {
        let frame = frame
            .map_err(|e| refuse(StatusCode::BAD_REQUEST, format!("cannot read the body: {e}")))?;
        if let Some(data) = frame.data_ref() {
            if buf.len() + data.len() > max {
                let seen = (buf.len() + data.len()) as u64;
                drop(buf);
                drain(body, seen, max as u64 + DRAIN_BYTES).await;
                return Err(too_large());
            }
            buf.extend_from_slice(data);
        }
    }
    Ok((Bytes::from(buf), permit))
}

/// Reads and drops the rest of `body`, `seen` bytes of it read already,
/// up to `cap` bytes in all and [`DRAIN_TIME`].
async fn drain(mut body: Body, mut seen: u64, cap: u64) {
    let _ = tokio::time::timeout(DRAIN_TIME, async {
        while seen <= cap {
            match body.frame().await {
                Some(Ok(frame)) => seen += frame.data_ref().map_or(0, |d| d.len() as u64),
                _ => break,
            }
        }
    })
    .await;
}

/// Runs `f` on the blocking pool; a panic there becomes a 500.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, Refused> + Send + 'static,
) -> Result<T, Refused> {
    match tokio::task::spawn_blocking(f).await {
        Ok(r) => r,
        Err(e) => {
            log(&format!("error: a request's task failed: {e}"));
            Err(refuse(StatusCode::INTERNAL_SERVER_ERROR, "internal error"))
        }
    }
}

#[derive(Clone, Copy)]
enum Op {
    Check,
    Add,
}

async fn check(State(state): State<AppState>, headers: HeaderMap, body: Body) -> Response {
    decide(state, headers, body, Op::Check).await.unwrap_or_else(IntoResponse::into_response)
}

async fn add(State(state): State<AppState>, headers: HeaderMap, body: Body) -> Response {
    decide(state, headers, body, Op::Add).await.unwrap_or_else(IntoResponse::into_response)
}

async fn decide(
    state: AppState,
    headers: HeaderMap,
    body: Body,
    op: Op,
) -> Result<Response, Refused> {
    // The permits live to the end of the request: the body, the records
    // parsed from it and the answer are all about its size; an add's
    // analysis, made here beside the add holding the writer, is about
    // three times its text, and a kibibyte a record.
    let (bytes, _permit) = read_body(&state, &headers, body).await?;
    let max_records = state.config.max_records;
    let s = state.clone();
    let (records, prepared, _analysis_permit) = blocking(move || {
        let records = api::parse_records(&bytes, max_records).map_err(Refused::from)?;
        let need =
            kib(3 * bytes.len()).saturating_add(records.len().try_into().unwrap_or(u32::MAX));
        let permit = match op {
            Op::Add => s.prepared.clone().try_acquire_many_owned(need).ok(),
            Op::Check => None,
        };
        let prepared = permit.as_ref().map(|_| s.backend.prepare(&records));
        Ok((records, prepared, permit))
    })
    .await?;
    let (records, result) = match op {
        Op::Check => {
            let s = state.clone();
            blocking(move || {
                let result = s.backend.check(&records);
                Ok((records, result))
            })
            .await?
        }
        Op::Add => {
            state.adds.add(records, prepared.unwrap_or_default()).await.ok_or_else(|| {
                log("error: the writer thread is gone");
                refuse(StatusCode::INTERNAL_SERVER_ERROR, "internal error")
            })?
        }
    };
    let outcomes = result.map_err(|e| backend_error(&e))?;
    if outcomes.len() != records.len() {
        log(&format!("error: the index answered {} records for {}", outcomes.len(), records.len()));
        return Err(refuse(StatusCode::INTERNAL_SERVER_ERROR, "internal error"));
    }
    let route = match op {
        Op::Check => "/v1/check",
        Op::Add => "/v1/add",
    };
    state.metrics.outcomes(route, &outcomes);
    let body = serde_json::to_vec(&Results::new(&records, &outcomes))
        .expect("results serialize: strings, numbers and booleans only");
    Ok(json(body))
}

async fn stats(State(state): State<AppState>) -> Response {
    let s = state.clone();
    let r = blocking(move || s.backend.stats().map_err(|e| backend_error(&e))).await;
    match r {
        Ok(v) => json(v.to_string().into_bytes()),
        Err(r) => r.into_response(),
    }
}

async fn healthz() -> Response {
    json(br#"{"status":"ok"}"#.to_vec())
}

async fn metrics(State(state): State<AppState>) -> Response {
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/openmetrics-text; version=1.0.0; charset=utf-8")],
        state.metrics.encode(),
    )
        .into_response()
}

const ROUTES: &str = "POST /v1/check, POST /v1/add, GET /v1/stats, GET /healthz and GET /metrics";

async fn not_found(method: Method, uri: Uri) -> Refused {
    refuse(
        StatusCode::NOT_FOUND,
        format!("no route for {method} {uri}; the service answers {ROUTES}"),
    )
}

async fn method_not_allowed(method: Method, uri: Uri) -> Refused {
    refuse(
        StatusCode::METHOD_NOT_ALLOWED,
        format!("{uri} does not take {method}; the service answers {ROUTES}"),
    )
}

/// A bound listening socket, before the service runs on it: binding first
/// lets a caller report the address (port 0 picks one) and refuse a bad
/// one before opening the index.
#[derive(Debug)]
pub struct Listener {
    socket: std::net::TcpListener,
    addr: SocketAddr,
}

impl Listener {
    /// Binds `listen` (`host:port`). Without a token, only a loopback
    /// address is accepted.
    ///
    /// # Errors
    /// The address does not resolve, is not loopback under
    /// [`Auth::InsecureNoAuth`], or cannot be bound.
    pub fn bind(listen: &str, auth: &Auth) -> Result<Listener, Error> {
        let addrs: Vec<SocketAddr> = listen
            .to_socket_addrs()
            .map_err(|e| Error::Address { addr: listen.to_owned(), problem: e.to_string() })?
            .collect();
        let Some(&first) = addrs.first() else {
            return Err(Error::Address {
                addr: listen.to_owned(),
                problem: "it resolves to no address".into(),
            });
        };
        if matches!(auth, Auth::InsecureNoAuth) {
            if let Some(&a) = addrs.iter().find(|a| !a.ip().is_loopback()) {
                return Err(Error::NotLoopback(a));
            }
        }
        let socket = std::net::TcpListener::bind(first)
            .map_err(|source| Error::Io { what: format!("cannot listen on `{first}`"), source })?;
        let addr = socket
            .local_addr()
            .map_err(|source| Error::Io { what: "reading the bound address".into(), source })?;
        Ok(Listener { socket, addr })
    }

    /// The address bound (with the port chosen, if 0 was asked).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Serves until SIGTERM or SIGINT, then stops accepting, finishes the
    /// requests in flight, flushes the backend and returns.
    ///
    /// # Errors
    /// The runtime or the socket fails, or the flush does.
    pub fn serve(self, backend: Arc<dyn Backend>, config: Config) -> Result<(), Error> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .thread_name("neardup-serve")
            .build()
            .map_err(|source| Error::Io { what: "starting the runtime".into(), source })?;
        runtime.block_on(async move {
            let stop = stop_signal()?;
            self.serve_until(backend, config, stop).await
        })
    }

    /// Serves until `stop` completes, then as [`Listener::serve`]. Must
    /// run inside a tokio runtime.
    ///
    /// # Errors
    /// The socket fails, or the flush does.
    pub async fn serve_until(
        self,
        backend: Arc<dyn Backend>,
        config: Config,
        stop: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), Error> {
        let io = |what: &str| {
            let what = what.to_owned();
            move |source| Error::Io { what, source }
        };
        self.socket.set_nonblocking(true).map_err(io("setting the socket non-blocking"))?;
        let listener =
            tokio::net::TcpListener::from_std(self.socket).map_err(io("registering the socket"))?;
        let grace = config.shutdown_grace;
        let (app, state) = app(backend.clone(), config)?;
        let stopping = Arc::new(tokio::sync::Notify::new());
        let signal = stopping.clone();
        let serving = axum::serve(listener, app).with_graceful_shutdown(async move {
            stop.await;
            signal.notify_one();
        });
        tokio::select! {
            served = serving.into_future() => served.map_err(io("serving"))?,
            () = async {
                stopping.notified().await;
                tokio::time::sleep(grace).await;
            } => log(&format!(
                "requests still in flight after {} s (--shutdown-grace): their connections are closed",
                grace.as_secs_f64()
            )),
        }
        // Every request has been answered or dropped; the writer finishes
        // the adds it has taken before the flush.
        tokio::task::spawn_blocking(move || {
            state.adds.finish();
            backend.flush()
        })
        .await
        .map_err(|e| Error::Flush(e.to_string()))?
        .map_err(|e| Error::Flush(e.to_string()))
    }
}

/// Completes on the first SIGTERM or SIGINT.
fn stop_signal() -> Result<impl Future<Output = ()> + Send + 'static, Error> {
    use tokio::signal::unix::{signal, SignalKind};
    let io = |source| Error::Io { what: "installing signal handlers".into(), source };
    let mut term = signal(SignalKind::terminate()).map_err(io)?;
    let mut int = signal(SignalKind::interrupt()).map_err(io)?;
    Ok(async move {
        tokio::select! {
            _ = term.recv() => log("SIGTERM: finishing the requests in flight"),
            _ = int.recv() => log("SIGINT: finishing the requests in flight"),
        }
    })
}
