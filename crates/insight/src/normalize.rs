//! Memo normalisation.
//!
//! [`normalize`] is used for matching (dictionary and rules) and is the base of the recurring
//! grouping key; [`group_key`] additionally strips noise that varies between occurrences of the
//! same payment.

/// Normalises a passbook memo: full-width ASCII forms (U+FF01–U+FF5E) become their half-width
/// counterparts, the ideographic space (U+3000) a space, ASCII letters are lower-cased and every
/// whitespace character is removed (which also trims). Hangul and other text are kept as they
/// are.
pub fn normalize(memo: &str) -> String {
    let mut out = String::with_capacity(memo.len());
    normalize_into(memo, &mut out);
    out
}

/// [`normalize`] into a reused buffer (cleared first); avoids an allocation per memo in hot
/// loops.
pub fn normalize_into(memo: &str, out: &mut String) {
    out.clear();
    for ch in memo.chars() {
        let ch = match ch {
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(ch as u32 - 0xFF01 + 0x21).unwrap_or(ch),
            '\u{3000}' => ' ',
            other => other,
        };
        if ch.is_whitespace() {
            continue;
        }
        out.push(ch.to_ascii_lowercase());
    }
}

/// The key recurring series are grouped by: the normalised memo with a trailing run of **three
/// or more** ASCII digits removed (optionally with one `-`, `#` or `*` before it), when something
/// is left. Such suffixes are sequence/approval numbers (`kt휴대폰요금0123`); shorter digit
/// suffixes are kept because they are often part of a name (`이마트24`, `gs25`). Branch names
/// (`강남점`) are deliberately *not* stripped: they cannot be told apart from merchant names
/// safely.
pub fn group_key(normalized: &str) -> &str {
    let bytes = normalized.as_bytes();
    let mut end = bytes.len();
    while end > 0 && bytes[end - 1].is_ascii_digit() {
        end -= 1;
    }
    if bytes.len() - end < 3 {
        return normalized;
    }
    if end > 0 && matches!(bytes[end - 1], b'-' | b'#' | b'*') {
        end -= 1;
    }
    if end == 0 {
        return normalized;
    }
    // `end` is at an ASCII byte boundary, hence a char boundary.
    &normalized[..end]
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn folds_full_width_case_and_spaces() {
        assert_eq!(normalize("  ＮＥＴＦＬＩＸ．ＣＯＭ "), "netflix.com");
        assert_eq!(normalize("GS25\u{3000}역삼점"), "gs25역삼점");
        assert_eq!(normalize("(주)한빛소프트 급여"), "(주)한빛소프트급여");
        assert_eq!(normalize("ＬＧＵ＋ 인터넷"), "lgu+인터넷");
        assert_eq!(normalize("\t\n"), "");
    }

    #[test]
    fn group_key_strips_only_long_digit_suffixes() {
        assert_eq!(group_key("kt휴대폰요금0123"), "kt휴대폰요금");
        assert_eq!(group_key("월세-20260101"), "월세");
        assert_eq!(group_key("이마트24"), "이마트24");
        assert_eq!(group_key("gs25"), "gs25");
        assert_eq!(group_key("12345"), "12345");
        assert_eq!(group_key("멜론"), "멜론");
    }

    proptest! {
        #[test]
        fn normalize_is_idempotent(s in "\\PC*") {
            let once = normalize(&s);
            prop_assert_eq!(normalize(&once), once.clone());
            prop_assert!(!once.chars().any(char::is_whitespace));
            let _ = group_key(&once);
        }
    }
}
