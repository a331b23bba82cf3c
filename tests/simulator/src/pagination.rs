//! Cursor pagination (`maxResults`, `pageToken` ← `nextPageToken`).
//!
//! Lists are ordered newest first by a `(time, seq)` key; a page token names the key of the last
//! item handed out, so items added while a client pages (a message just sent) neither repeat nor
//! shift later pages. `nextPageToken` is `null` on the last page.

use http::StatusCode;
use serde_json::{Value, json};

use crate::error_body::ApiError;

/// Ordering key of a list item: time in ms, then a unique sequence number.
pub(crate) type PageKey = (i64, u64);

const TOKEN_PREFIX: &str = "sim1.";

/// Sorts `items` newest first and returns the page after `token`, rendered as the API's
/// `{data, totalItems, nextPageToken}`.
pub(crate) fn page<T>(
    mut items: Vec<(PageKey, T)>,
    max_results: usize,
    token: Option<&str>,
    render: impl Fn(&T) -> Value,
) -> Result<Value, ApiError> {
    items.sort_by_key(|(key, _)| std::cmp::Reverse(*key));
    let total = items.len();
    let start = match token {
        None => 0,
        Some(token) => {
            let after = decode(token).ok_or_else(|| {
                ApiError::new(
                    StatusCode::BAD_REQUEST,
                    format!("Invalid page token {token:?}"),
                )
            })?;
            items.partition_point(|(key, _)| *key >= after)
        }
    };
    let max_results = max_results.max(1);
    let end = (start + max_results).min(total);
    let data: Vec<Value> = items[start..end]
        .iter()
        .map(|(_, item)| render(item))
        .collect();
    let next = (end < total)
        .then(|| {
            items
                .get(end.saturating_sub(1))
                .map(|(key, _)| encode(*key))
        })
        .flatten();
    Ok(json!({"data": data, "totalItems": total, "nextPageToken": next}))
}

fn encode((time, seq): PageKey) -> String {
    format!("{TOKEN_PREFIX}{time:x}.{seq:x}")
}

fn decode(token: &str) -> Option<PageKey> {
    let (time, seq) = token.strip_prefix(TOKEN_PREFIX)?.split_once('.')?;
    Some((
        i64::from_str_radix(time, 16).ok()?,
        u64::from_str_radix(seq, 16).ok()?,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn items(count: u64) -> Vec<(PageKey, u64)> {
        (0..count)
            .map(|i| ((1_000 + (i as i64 / 2), i), i))
            .collect()
    }

    #[test]
    fn walks_every_item_once_newest_first() {
        let mut seen = Vec::new();
        let mut token: Option<String> = None;
        let mut pages = 0;
        loop {
            let page = page(items(23), 10, token.as_deref(), |i| json!(i)).expect("page");
            assert_eq!(page["totalItems"], 23);
            pages += 1;
            seen.extend(
                page["data"]
                    .as_array()
                    .expect("data")
                    .iter()
                    .filter_map(Value::as_u64),
            );
            match page["nextPageToken"].as_str() {
                Some(next) => token = Some(next.to_owned()),
                None => break,
            }
        }
        assert_eq!(pages, 3);
        let expected: Vec<u64> = (0..23).rev().collect();
        assert_eq!(seen, expected);
    }

    #[test]
    fn an_exact_fit_ends_with_a_null_token() {
        let page = page(items(10), 10, None, |i| json!(i)).expect("page");
        assert_eq!(page["nextPageToken"], Value::Null);
        let empty =
            super::page(Vec::<(PageKey, u64)>::new(), 10, None, |i| json!(i)).expect("page");
        assert_eq!(
            empty,
            json!({"data": [], "totalItems": 0, "nextPageToken": null})
        );
    }

    #[test]
    fn items_added_meanwhile_do_not_repeat() {
        let first = page(items(6), 3, None, |i| json!(i)).expect("page");
        let token = first["nextPageToken"].as_str().expect("token").to_owned();
        let mut more = items(6);
        more.push(((5_000, 99), 99));
        let second = page(more, 3, Some(&token), |i| json!(i)).expect("page");
        assert_eq!(second["data"], json!([2, 1, 0]));
    }

    #[test]
    fn garbage_tokens_are_a_bad_request() {
        let error = page(items(3), 2, Some("nope"), |i| json!(i)).expect_err("rejected");
        assert_eq!(error.status(), StatusCode::BAD_REQUEST);
    }
}
