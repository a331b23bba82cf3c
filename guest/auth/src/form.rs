//! `application/x-www-form-urlencoded` parameters (query strings and form
//! bodies) with the OAuth rule that a parameter must not appear twice
//! (RFC 6749 §3.1): a repeated parameter is an error, not "first wins",
//! since two parsers picking different copies is how checks get bypassed.

/// Parsed parameters, in order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Params(Vec<(String, String)>);

/// A parameter that must appear at most once appeared more often.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the parameter `{0}` is repeated")]
pub struct Repeated(pub String);

impl Params {
    /// Parses a query string or form body.
    pub fn parse(input: &[u8]) -> Self {
        Params(form_urlencoded::parse(input).into_owned().collect())
    }

    /// The value of `name`; empty values count as absent.
    pub fn single(&self, name: &str) -> Result<Option<&str>, Repeated> {
        let mut values = self.all(name);
        let first = values.next();
        if values.next().is_some() {
            return Err(Repeated(name.to_owned()));
        }
        Ok(first.filter(|v| !v.is_empty()))
    }

    /// Every value of `name` (checkbox groups).
    pub fn all<'a>(&'a self, name: &str) -> impl Iterator<Item = &'a str> + 'a {
        let name = name.to_owned();
        self.0
            .iter()
            .filter(move |(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The first parameter that appears more than once, if any.
    pub fn first_repeated(&self) -> Option<&str> {
        self.0.iter().enumerate().find_map(|(i, (name, _))| {
            self.0[..i]
                .iter()
                .any(|(n, _)| n == name)
                .then_some(name.as_str())
        })
    }
}

/// Encodes `pairs` as a query string / form body.
pub fn encode(pairs: &[(&str, &str)]) -> String {
    let mut out = form_urlencoded::Serializer::new(String::new());
    for (name, value) in pairs {
        out.append_pair(name, value);
    }
    out.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_values_and_repeats() {
        let p = Params::parse(b"a=1&b=&c=x+y%21&d=1&d=2");
        assert_eq!(p.single("a"), Ok(Some("1")));
        assert_eq!(p.single("b"), Ok(None));
        assert_eq!(p.single("c"), Ok(Some("x y!")));
        assert_eq!(p.single("missing"), Ok(None));
        assert_eq!(p.single("d"), Err(Repeated("d".into())));
        assert_eq!(p.all("d").collect::<Vec<_>>(), ["1", "2"]);
        assert_eq!(p.first_repeated(), Some("d"));
        assert_eq!(Params::parse(b"a=1&b=2").first_repeated(), None);
    }

    #[test]
    fn encoding_round_trips() {
        let body = encode(&[("state", "a b&c=d"), ("iss", "https://x")]);
        let p = Params::parse(body.as_bytes());
        assert_eq!(p.single("state"), Ok(Some("a b&c=d")));
        assert_eq!(p.single("iss"), Ok(Some("https://x")));
    }
}
