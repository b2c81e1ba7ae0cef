//! `neardup normalize`.

use crate::{files, neardup};

#[test]
fn prints_the_canonical_form() {
    let dir = tempfile::tempdir().unwrap();
    files(
        dir.path(),
        &[(
            "a.txt",
            "He said \u{201C}it\u{2019}s\u{00A0}done\u{201D} \u{2014} \u{FB01}ne.\r\n\r\n\r\nNext."
                .as_bytes(),
        )],
    );
    let run = neardup(dir.path(), &["normalize", "a.txt"], None);
    insta::assert_snapshot!(run.snapshot(dir.path()), @r#"
    exit: 0
    ----- stdout -----
    he said "it's done" - fine.

    next.

    ----- stderr -----
    "#);
    let run = neardup(dir.path(), &["normalize", "--offsets", "--no-case-fold", "a.txt"], None);
    assert_eq!(run.stdout_str(), "0..37\tHe said \"it's done\" - fine.\n43..48\tNext.\n");
}

#[test]
fn is_idempotent_through_the_cli() {
    let dir = tempfile::tempdir().unwrap();
    let text = "Ｆｕｌｌ width, e\u{0301}, zero\u{200B}width, ‘quotes’ -- and — dashes…";
    let once = neardup(dir.path(), &["normalize", "-"], Some(text.as_bytes())).stdout_str();
    let twice =
        neardup(dir.path(), &["normalize", "-"], Some(once.trim_end().as_bytes())).stdout_str();
    assert_eq!(once, twice);
    assert_eq!(once, "full width, é, zerowidth, 'quotes' - and - dashes...\n");
}
