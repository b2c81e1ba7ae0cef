//! The HTML report (issue 12), checked in a real browser: `dedup --report`
//! over a corpus with every kind of duplicate, each view opened by its URL
//! fragment in headless Chromium, the DOM checked, a screenshot of each
//! view written under `target/tmp/report-screenshots/` (a test artifact).
//! Also `neardup report` from a ledger, stdin, compressed ledgers, and
//! inputs that changed since the run.
//!
//! Chromium is Debian's `chromium` (see `neardup_testing::browser`): without
//! it the browser checks fail when `CI` is set and are skipped otherwise.

use std::io::Write;
use std::path::{Path, PathBuf};

use neardup_testing::browser::{browse, chromium, view};

use crate::{files, neardup};

/// A corpus with an exact copy, a typographic copy, a near copy, a repeat
/// inside a record, a substring shared by two records and a bad record.
fn corpus() -> String {
    let a = "The city council voted on Tuesday to approve the new budget for the coming year, \
        which includes funding for three new libraries and a renovated public pool, two parks and a bridge.\n\
        \"We have waited a long time for this,\" said the mayor -- who had campaigned on the issue -- \
        after the vote. \"It's a good day for the city.\"\n\
        Opponents argued that the plan would raise property taxes for most residents by at least four percent, \
        and that the bridge alone would cost more than the city could afford over the next ten years.\n\
        The budget will take effect in January, pending a final review by the state's finance office.\n";
    let typo = a
        .replacen('"', "\u{201C}", 1)
        .replace(",\"", ",\u{201D}")
        .replace(" -- ", " \u{2014} ")
        .replace("It's", "It\u{2019}s")
        .replace("The city council", "THE CITY COUNCIL");
    let near = a.replace("three new libraries", "3 new libraries");
    let para =
        "Rain is expected across the northern half of the country on Wednesday, with strong \
        winds along the coast and temperatures well below the seasonal average.\n\n";
    let repeat = format!(
        "Weather for the week.\n\n{para}Further south, skies will stay clear.\n\n{para}Stay safe."
    );
    let shared = "Shares in the company fell sharply on Thursday after it reported lower profits \
        than analysts had forecast, blaming higher costs and weaker demand in its largest markets.";
    let lines = [
        serde_json::json!({"id": "a1", "text": a}).to_string(),
        serde_json::json!({"id": "a2", "text": a}).to_string(),
        serde_json::json!({"id": "a3-typo", "text": typo}).to_string(),
        serde_json::json!({"id": "a4-near", "text": near}).to_string(),
        serde_json::json!({"id": "b1-repeat", "text": repeat}).to_string(),
        r#"{"id": "bad", "text": 3}"#.to_string(),
        serde_json::json!({"id": "c1", "text": format!("Markets in brief. {shared} Other stocks were mixed.")}).to_string(),
        serde_json::json!({"id": "c2", "text": format!("Evening news: the festival is back. {shared} It runs until Sunday.")}).to_string(),
        serde_json::json!({"id": "d1", "text": "A note on gardening </script><!-- not a comment --> in spring."}).to_string(),
    ];
    lines.join("\n") + "\n"
}

/// Where screenshots go: under `target/`, kept after the run.
fn screenshots() -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("report-screenshots");
    fs_err::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn issue_12_report_views_in_a_browser() {
    let dir = tempfile::tempdir().unwrap();
    files(dir.path(), &[("corpus.jsonl", corpus().as_bytes())]);
    let run = neardup(
        dir.path(),
        &[
            "dedup",
            "corpus.jsonl",
            "-o",
            "out.jsonl",
            "--on-error",
            "skip",
            "--substrings",
            "--json",
            "--report",
            "report.html",
        ],
        None,
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let summary: serde_json::Value = serde_json::from_slice(&run.stdout).unwrap();
    assert_eq!(
        [
            &summary["read"],
            &summary["kept"],
            &summary["modified"],
            &summary["removed"],
            &summary["rejected"]
        ],
        [9, 3, 2, 3, 1],
        "the corpus does what the test expects: {summary}"
    );
    assert!(run.stderr.contains("neardup: report `report.html`"), "{}", run.stderr);
    let html_path = dir.path().join("report.html");
    let html = fs_err::read_to_string(&html_path).unwrap();
    // One self-contained file: nothing to fetch, and the record's own
    // `</script>` cannot end the data.
    for needle in ["<link", "<script src", "<img", "@import"] {
        assert!(!html.contains(needle), "the report holds `{needle}`");
    }
    assert_eq!(html.matches("</script>").count(), 2, "only the page's own script ends");

    let Some(chromium) = chromium() else { return };
    let shots = screenshots();
    let dom = |fragment: &str| view(&browse(chromium, &html_path, fragment, None), fragment);

    // Summary: the run's counts.
    let d = dom("summary");
    for key in ["read", "kept", "modified", "removed", "rejected"] {
        let shown = format!("id=\"count-{key}\">{}</span>", summary[key]);
        assert!(d.contains(&shown), "summary lacks {shown}");
    }
    assert!(d.contains("21 bands × 6 rows"), "the banding is shown");
    assert!(d.contains("<table class=\"kv\" id=\"settings\">") && d.contains("near.threshold"));

    // Clusters: the kept record a1 with its three copies, largest first.
    let d = dom("clusters");
    assert!(d.contains("id=\"cluster-count\">1 cluster</span>"), "{d}");
    assert!(d.contains("<a href=\"#cluster=0\">a1</a>"), "{d}");
    let d = dom("clusters&q=renovated");
    assert!(d.contains("1 cluster match"), "text search finds the cluster");
    let d = dom("clusters&q=nothing-like-this");
    assert!(d.contains("0 clusters match"));

    // The cluster: each copy beside a1, with what kind of copy it is.
    let d = dom("cluster=0");
    for member in ["a2", "a3-typo", "a4-near"] {
        assert!(d.contains(&format!("Removed <code>{member}</code>")), "{member} missing:\n{d}");
    }
    assert!(d.contains("class=\"badge same\">same bytes"));
    assert!(d.contains("class=\"badge typo\">same text, other typography"));
    assert!(d.contains("class=\"badge changed\">1 change in words"));
    // The changed word, marked on both sides; typographic words dotted.
    assert!(d.contains("<del class=\"chg\">three</del>"), "{d}");
    assert!(d.contains("<ins class=\"chg\">3</ins>"), "{d}");
    assert!(d.contains(
        "<span class=\"typo\" title=\"same word, other typography\">THE CITY COUNCIL</span>"
    ));

    // Cuts: the in-record repeat and the shared substring, in place.
    let d = dom("cuts");
    assert!(d.contains(">b1-repeat</a>") && d.contains(">c2</a>"), "{d}");
    let link = |d: &str, id: &str| {
        let at = d.find(&format!(">{id}</a>")).unwrap();
        let start = d[..at].rfind("href=\"#").unwrap() + "href=\"".len();
        d[start..d[start..].find('"').unwrap() + start].to_string()
    };
    let b1 = link(&d, "b1-repeat");
    let c2 = link(&d, "c2");
    let d = dom(b1.trim_start_matches('#'));
    assert!(d.contains("<del class=\"cut\" data-label=\"cut 1\" id=\"cut-0\""), "{d}");
    assert!(d.contains("<mark class=\"first\""), "the first copy is marked in the same record");
    assert!(d.contains("Stay safe."));
    let d = dom(c2.trim_start_matches('#'));
    assert!(d.contains("<del class=\"cut\""), "{d}");
    assert!(d.contains(">c1, byte 16</a>"), "the first copy is in c1:\n{d}");
    // Following that link lands on the first copy, in c1.
    let first = {
        let at = d.find(">c1, byte 16</a>").unwrap();
        let start = d[..at].rfind("href=\"#").unwrap() + "href=\"#".len();
        d[start..d[start..].find('"').unwrap() + start].replace("&amp;", "&")
    };
    let d = dom(&first);
    assert!(
        d.contains("<mark class=\"first target\" data-label=\"first copy of c2 cut 1\""),
        "{d}"
    );
    assert!(d.contains("Record <code>c1</code>"));

    // Rejected, by file, with the error.
    let d = dom("rejected");
    assert!(d.contains("<code>corpus.jsonl</code>"));
    assert!(d.contains("field `text` is a number, expected a string"), "{d}");

    // Keyboard: the keys of the help, pressed in order, land where they
    // say (the page records each fragment it reaches).
    let keys = dir.path().join("keys.html");
    let script = r#"<script>
(function () {
  var steps = ['3', 'j', 'Enter', 'u', '4', 'j', 'j', 'Enter', 'u', '5', '1', '?'], log = [];
  function next() {
    if (!steps.length) {
      log.push(document.getElementById('help').hidden ? 'help hidden' : 'help shown');
      document.body.setAttribute('data-keys', log.join(' '));
      return;
    }
    document.dispatchEvent(new KeyboardEvent('keydown', { key: steps.shift(), bubbles: true }));
    setTimeout(function () { log.push(location.hash); next(); }, 30);
  }
  setTimeout(next, 30);
})();
</script></body>"#;
    fs_err::write(&keys, html.replace("</body>", script)).unwrap();
    // 3: clusters; j, Enter: the first cluster; u: back up; 4, j, j, Enter:
    // the second record with cuts (b1, fewer bytes cut than c2); u; 5; 1; ?.
    let out = browse(chromium, &keys, "summary", None);
    assert!(
        out.contains("data-keys=\"#clusters #clusters #cluster=0 #clusters #cuts #cuts #cuts #record=4 #cuts #rejected #summary #summary help shown\""),
        "{out}"
    );

    // A screenshot of each view.
    for (name, fragment) in [
        ("summary", "summary".to_string()),
        ("charts", "charts".to_string()),
        ("clusters", "clusters".to_string()),
        ("cluster", "cluster=0".to_string()),
        ("cuts", "cuts".to_string()),
        ("record", c2.trim_start_matches('#').to_string()),
        ("first-copy", first.clone()),
        ("rejected", "rejected".to_string()),
    ] {
        browse(chromium, &html_path, &fragment, Some(&shots.join(format!("{name}.png"))));
    }
}

#[test]
fn issue_12_report_from_a_ledger_stdin_and_a_compressed_ledger() {
    let dir = tempfile::tempdir().unwrap();
    let body = corpus();
    // The run reads stdin; so does the report, given the same bytes.
    let run = neardup(
        dir.path(),
        &[
            "dedup",
            "-",
            "-o",
            "out.jsonl",
            "--on-error",
            "skip",
            "--ledger",
            "l.jsonl",
            "--report",
            "run.html",
        ],
        Some(body.as_bytes()),
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(dir.path().join("run.html").exists());
    let report = neardup(
        dir.path(),
        &["report", "--ledger", "l.jsonl", "-", "-o", "later.html"],
        Some(body.as_bytes()),
    );
    assert_eq!(report.code, 0, "{}", report.stderr);
    let later = fs_err::read_to_string(dir.path().join("later.html")).unwrap();
    assert!(later.contains("\"id\":[null") || later.contains("\"a2\""), "records listed");
    // Made without the run: no time or bytes out, said so.
    assert!(later.contains("\"bytes_out\":null,\"seconds\":null"));

    // A gzip ledger under a plain name reads the same.
    let ledger = fs_err::read(dir.path().join("l.jsonl")).unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&ledger).unwrap();
    files(dir.path(), &[("l2.jsonl", &gz.finish().unwrap()), ("c.jsonl", body.as_bytes())]);
    let report = neardup(
        dir.path(),
        &["report", "--ledger", "l2.jsonl", "-", "-o", "gz.html"],
        Some(body.as_bytes()),
    );
    assert_eq!(report.code, 0, "{}", report.stderr);
    // The report of the same run is the same page whichever way it is read.
    let gz_html = fs_err::read_to_string(dir.path().join("gz.html")).unwrap();
    assert_eq!(gz_html.replace("l2.jsonl", "l.jsonl"), later);
}

#[test]
fn issue_12_report_refuses_inputs_that_changed() {
    let dir = tempfile::tempdir().unwrap();
    files(dir.path(), &[("c.jsonl", corpus().as_bytes())]);
    let run = neardup(
        dir.path(),
        &["dedup", "c.jsonl", "-o", "out.jsonl", "--on-error", "skip", "--ledger", "l.jsonl"],
        None,
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    // Two records swap places.
    let body = corpus();
    let mut lines: Vec<&str> = body.lines().collect();
    lines.swap(1, 2);
    files(dir.path(), &[("c.jsonl", (lines.join("\n") + "\n").as_bytes())]);
    let report =
        neardup(dir.path(), &["report", "--ledger", "l.jsonl", "c.jsonl", "-o", "r.html"], None);
    assert_eq!(report.code, 2);
    assert!(
        report.stderr.contains("record 1 (c.jsonl:2): the ledger has `a2` at `c.jsonl` line 2 (removed), the inputs `a3-typo`; the inputs changed since the run"),
        "{}",
        report.stderr
    );
    assert!(!dir.path().join("r.html").exists(), "no report is left behind");
    // Another text field than the run's is named, both values.
    files(dir.path(), &[("c.jsonl", corpus().as_bytes())]);
    let report = neardup(
        dir.path(),
        &["report", "--ledger", "l.jsonl", "c.jsonl", "-o", "r.html", "--text-field", "body"],
        None,
    );
    assert_eq!(report.code, 2);
    assert!(report.stderr.contains("the ledger was written with `--text-field text`, the report was asked to read `--text-field body`"), "{}", report.stderr);
    // Fewer inputs than the ledger lists.
    files(
        dir.path(),
        &[("c.jsonl", body.lines().take(4).collect::<Vec<_>>().join("\n").as_bytes())],
    );
    let report =
        neardup(dir.path(), &["report", "--ledger", "l.jsonl", "c.jsonl", "-o", "r.html"], None);
    assert_eq!(report.code, 2);
    assert!(report.stderr.contains("no more records (they hold 4)"), "{}", report.stderr);
}

#[test]
fn issue_12_substrings_writes_a_report_too_and_clusters_refuses() {
    let dir = tempfile::tempdir().unwrap();
    files(dir.path(), &[("c.jsonl", corpus().as_bytes())]);
    let run = neardup(
        dir.path(),
        &["substrings", "c.jsonl", "-o", "out.jsonl", "--on-error", "skip", "--report", "s.html"],
        None,
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let html = fs_err::read_to_string(dir.path().join("s.html")).unwrap();
    assert!(
        html.contains("\"substrings\":{\"min_len\":100"),
        "the substring counts are in the summary"
    );
    // No temp ledger is left in the temp dir given.
    let tmp = tempfile::tempdir().unwrap();
    let run = neardup(
        dir.path(),
        &[
            "dedup",
            "c.jsonl",
            "-o",
            "out.jsonl",
            "--on-error",
            "skip",
            "--report",
            "d.html",
            "--tmp-dir",
            tmp.path().to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(fs_err::read_dir(tmp.path()).unwrap().count(), 0, "temp ledger removed");
    let run = neardup(dir.path(), &["clusters", "c.jsonl", "--report", "x.html"], None);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("use `dedup --report`"), "{}", run.stderr);
}
