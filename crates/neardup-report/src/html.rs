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
    let json = serde_json::to_vec(data).map_err(io::Error::from)?;
    let mut rest = TEMPLATE;
    for (marker, fill) in [
        ("{{VERSION}}", Fill::Text(&data.version)),
        ("/*CSS*/", Fill::Raw(CSS)),
        ("{{DATA}}", Fill::Json(&json)),
        ("/*JS*/", Fill::Raw(JS)),
    ] {
        let (head, tail) = rest.split_once(marker).expect("the template holds each marker once");
        out.write_all(head.as_bytes())?;
        match fill {
            Fill::Raw(s) => out.write_all(s.as_bytes())?,
            Fill::Text(s) => write_escaped(s, out)?,
            Fill::Json(j) => {
                for (i, piece) in j.split(|&b| b == b'<').enumerate() {
                    if i > 0 {
                        out.write_all(b"\\u003c")?;
                    }
                    out.write_all(piece)?;
                }
            }
        }
        rest = tail;
    }
    out.write_all(rest.as_bytes())
}

enum Fill<'a> {
    Raw(&'a str),
    Text(&'a str),
    Json(&'a [u8]),
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
