//! Bearer tokens: read from a file (never from a flag, which `ps` shows),
//! compared in constant time so that response timing says nothing about
//! how much of a guess was right.

use std::path::Path;

use subtle::ConstantTimeEq;

use crate::error::Error;

/// The secret a request must present as `Authorization: Bearer <token>`.
#[derive(Clone)]
pub struct Token(Vec<u8>);

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Token(..)")
    }
}

impl Token {
    /// The token in `path`: its first line, without surrounding white
    /// space. It must be printable ASCII (what a header can carry) and
    /// at least 16 bytes long.
    ///
    /// # Errors
    /// The file cannot be read, or holds no usable token.
    pub fn from_file(path: &Path) -> Result<Token, Error> {
        let text = fs_err::read_to_string(path)
            .map_err(|source| Error::TokenFile { path: path.to_owned(), source })?;
        Token::new(text.lines().next().unwrap_or("").trim())
            .map_err(|problem| Error::BadToken { path: path.to_owned(), problem })
    }

    /// A token from its text.
    ///
    /// # Errors
    /// A message saying why `text` cannot be a token.
    pub fn new(text: &str) -> Result<Token, String> {
        if text.is_empty() {
            return Err("it is empty".into());
        }
        if let Some(c) = text.chars().find(|c| !c.is_ascii_graphic()) {
            return Err(format!("it holds {c:?}; a token is printable ASCII without spaces"));
        }
        if text.len() < 16 {
            return Err(format!("it is {} bytes long; use at least 16", text.len()));
        }
        Ok(Token(text.as_bytes().to_vec()))
    }

    /// Whether an `Authorization` header value presents this token. Only
    /// the length of the token can show in the time taken.
    pub(crate) fn admits(&self, header: Option<&[u8]>) -> bool {
        let Some(presented) = header.and_then(|h| h.strip_prefix(b"Bearer ")) else {
            return false;
        };
        bool::from(presented.ct_eq(&self.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admits_only_the_bearer_token() {
        let t = Token::new("0123456789abcdef").unwrap();
        assert!(t.admits(Some(b"Bearer 0123456789abcdef")));
        assert!(!t.admits(Some(b"Bearer 0123456789abcdeF")));
        assert!(!t.admits(Some(b"Bearer 0123456789abcde")));
        assert!(!t.admits(Some(b"Bearer 0123456789abcdef0")));
        assert!(!t.admits(Some(b"Basic 0123456789abcdef")));
        assert!(!t.admits(Some(b"0123456789abcdef")));
        assert!(!t.admits(None));
    }

    #[test]
    fn refuses_weak_tokens() {
        assert!(Token::new("").is_err());
        assert!(Token::new("short").unwrap_err().contains("at least 16"));
        assert!(Token::new("0123456789 abcdef").unwrap_err().contains("printable"));
    }

    #[test]
    fn reads_the_first_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("token");
        fs_err::write(&path, "  0123456789abcdef  \n").unwrap();
        assert!(Token::from_file(&path).unwrap().admits(Some(b"Bearer 0123456789abcdef")));
        fs_err::write(&path, "\n").unwrap();
        let e = Token::from_file(&path).unwrap_err().to_string();
        assert!(e.contains("empty") && e.contains("token"), "{e}");
        let e = Token::from_file(&dir.path().join("missing")).unwrap_err().to_string();
        assert!(e.contains("missing"), "{e}");
    }
}
