//! The HTML report opened in a real browser: headless Chromium, as the
//! report's own tests (its size budget) and the CLI's (every view) use it.
//!
//! Chromium is Debian's `chromium` (`.ci/run` installs it). Without it the
//! browser checks fail when `CI` is set — a CI run must not pass by
//! skipping them — and are skipped otherwise, saying so.
//!
//! These helpers fail the calling test by panicking, naming the page.

use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Where Debian installs Chromium.
pub const CHROMIUM: &str = "/usr/bin/chromium";

/// How long a page may take, start-up and DOM dump included, before the
/// test fails (a 200,000-record report loads in seconds; this is for a
/// browser that hangs).
const DEADLINE: Duration = Duration::from_secs(180);

/// Chromium, or `None` (the browser checks are skipped) outside CI.
///
/// # Panics
/// When `CI` is set and Chromium is missing.
#[allow(clippy::print_stderr, reason = "a skipped check says so in the test's output")]
pub fn chromium() -> Option<&'static Path> {
    let p = Path::new(CHROMIUM);
    if p.exists() {
        return Some(p);
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "{CHROMIUM} is missing; `.ci/run` installs it (apt-get install -y chromium)"
    );
    eprintln!("skipped: no browser at {CHROMIUM} (apt-get install -y chromium)");
    None
}

/// Opens `html#fragment` in headless Chromium (no network, a fresh
/// profile) and returns the DOM once its scripts ran, checking that no
/// script failed; with `screenshot`, writes a picture of the view there
/// instead (and returns what the browser printed, if anything).
///
/// # Panics
/// When the browser cannot start, does not finish within three minutes,
/// logs a script error, or writes no screenshot.
pub fn browse(chromium: &Path, html: &Path, fragment: &str, screenshot: Option<&Path>) -> String {
    let profile = tempfile::tempdir().expect("a temp directory for the browser profile");
    let mut cmd = Command::new(chromium);
    cmd.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        // Virtual time: an idle page skips ahead, so a large budget costs
        // nothing on a small report and lets a large one finish drawing.
        "--virtual-time-budget=10000",
        "--window-size=1366,900",
        // Console messages go to stderr, where script errors are looked for.
        "--enable-logging=stderr",
        "--v=0",
    ])
    .arg(format!("--user-data-dir={}", profile.path().display()));
    match screenshot {
        Some(p) => cmd.arg(format!("--screenshot={}", p.display())),
        None => cmd.arg("--dump-dom"),
    };
    cmd.arg(format!("file://{}#{fragment}", html.display()));
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", chromium.display()));
    // Output is read on threads, so that a full pipe cannot stall the
    // browser while we wait for it.
    let read = |mut r: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut s = Vec::new();
            r.read_to_end(&mut s).expect("the browser's output");
            String::from_utf8_lossy(&s).into_owned()
        })
    };
    let dom = read(Box::new(child.stdout.take().expect("piped stdout")));
    let log = read(Box::new(child.stderr.take().expect("piped stderr")));
    let deadline = Instant::now() + DEADLINE;
    while child.try_wait().expect("the browser's status").is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("chromium did not finish with {}#{fragment}", html.display());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let dom = dom.join().expect("the browser's stdout");
    let log = log.join().expect("the browser's stderr");
    assert!(
        !log.contains("Uncaught") && !log.contains("SyntaxError"),
        "script error on #{fragment}:\n{log}"
    );
    if let Some(p) = screenshot {
        assert!(p.exists(), "no screenshot of #{fragment}");
    }
    dom
}

/// The view the report drew in `page` (its `<main>`), not the page's
/// script.
///
/// # Panics
/// When the page drew no view, or a view that failed (the message quotes
/// the start of what it drew: a large report's page runs to megabytes).
pub fn view(page: &str, fragment: &str) -> String {
    let start = |s: &str| s.chars().take(4000).collect::<String>();
    let view = match (page.find("<main"), page.find("</main>")) {
        (Some(a), Some(b)) => &page[a..b],
        _ => panic!("the page did not draw #{fragment}:\n{}", start(page)),
    };
    assert!(view.contains("data-view="), "the page did not draw #{fragment}:\n{}", start(view));
    assert!(!view.contains("could not be drawn"), "#{fragment} failed:\n{}", start(view));
    view.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A page with `body` in a temp directory, and that directory.
    fn page(body: &str) -> (tempfile::TempDir, std::path::PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let html = dir.path().join("page.html");
        fs_err::write(&html, format!("<!doctype html><html><body>{body}</body></html>")).unwrap();
        (dir, html)
    }

    #[test]
    fn a_drawn_view_is_returned_and_a_script_error_fails() {
        let Some(chromium) = chromium() else { return };
        let (_dir, html) = page(
            "<main></main><script>document.querySelector('main')\
             .innerHTML = '<div data-view=\"x\">drawn ' + location.hash + '</div>';</script>",
        );
        let v = view(&browse(chromium, &html, "x", None), "x");
        assert!(v.contains("drawn #x"), "{v}");

        let (_dir, html) = page("<main data-view=\"x\"></main><script>undefined();</script>");
        let failed = std::panic::catch_unwind(|| browse(chromium, &html, "x", None));
        let message = failed.err().and_then(|e| e.downcast::<String>().ok()).expect("a panic");
        assert!(message.contains("script error on #x"), "{message}");
    }

    #[test]
    fn a_page_that_drew_nothing_fails() {
        for page in
            ["<p>no main</p>", "<main>no view</main>", "<main data-view=\"x\">could not be drawn"]
        {
            let page = format!("{page}</main>");
            assert!(std::panic::catch_unwind(|| view(&page, "x")).is_err(), "{page}");
        }
    }
}
