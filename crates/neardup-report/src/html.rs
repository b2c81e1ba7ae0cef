//! The page: one HTML file holding its style, its script and its data.
//!
//! Nothing is fetched: the CSS and JavaScript (`assets/`) are written
//! inline, fonts are the system's, and the data is one JSON document in a
//! `<script type="application/json">` element, which the script parses
//! once and draws views from. Every `<` in the JSON is written `\u003c`
//! (the same string to a JSON parser), so no text in the data can end
//! that element or open a comment.

use std::io::{self, Write};

use crate::model::Data;

const TEMPLATE: &str = include_str!("../assets/report.html");
const CSS: &str = include_str!("../assets/report.css");
const JS: &str = include_str!("../assets/report.js");

/// Writes the page for `data` to `out`.
pub(crate) fn write(data: &Data, out: &mut dyn Write) -> io::Result<()> {
    let mut rest = TEMPLATE;
    for (marker, fill) in [
        ("{{VERSION}}", Fill::Text(&data.version)),
        ("/*CSS*/", Fill::Raw(CSS)),
        ("{{DATA}}", Fill::Json),
        ("/*JS*/", Fill::Raw(JS)),
    ] {
        let (head, tail) = rest.split_once(marker).expect("the template holds each marker once");
        out.write_all(head.as_bytes())?;
        match fill {
            Fill::Raw(s) => out.write_all(s.as_bytes())?,
            Fill::Text(s) => write_escaped(s, out)?,
            // Streamed: the data is never held twice.
            Fill::Json => serde_json::to_writer(EscapeLt(&mut *out), data)?,
        }
        rest = tail;
    }
    out.write_all(rest.as_bytes())
}

enum Fill<'a> {
    Raw(&'a str),
    Text(&'a str),
    Json,
}

/// Writes JSON through, with every `<` as `\u003c`.
struct EscapeLt<'a>(&'a mut dyn Write);

impl Write for EscapeLt<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        for (i, piece) in buf.split(|&b| b == b'<').enumerate() {
            if i > 0 {
                self.0.write_all(b"\\u003c")?;
            }
            self.0.write_all(piece)?;
        }
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}

/// `s` as HTML text (in an attribute or an element).
fn write_escaped(s: &str, out: &mut dyn Write) -> io::Result<()> {
    for c in s.chars() {
        match c {
            '&' => out.write_all(b"&amp;")?,
            '<' => out.write_all(b"&lt;")?,
            '>' => out.write_all(b"&gt;")?,
            '"' => out.write_all(b"&quot;")?,
            c => write!(out, "{c}")?,
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    #[test]
    fn no_text_in_the_data_can_end_its_element() {
        let mut out = Vec::new();
        super::EscapeLt(&mut out).write_all(br#"{"t":"</script><!--x"}"#).unwrap();
        assert_eq!(out, br#"{"t":"\u003c/script>\u003c!--x"}"#);
        let back: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(back["t"], "</script><!--x");
    }

    #[test]
    fn the_template_fetches_nothing() {
        for asset in [super::TEMPLATE, super::CSS, super::JS] {
            for needle in
                ["<link", "src=", "@import", "url(http", "fetch(", "XMLHttpRequest", "//cdn"]
            {
                assert!(!asset.contains(needle), "an asset holds `{needle}`");
            }
        }
        // The one URL is the SVG namespace, an identifier, never loaded.
        assert_eq!(super::JS.matches("http").count(), 1);
    }
}
