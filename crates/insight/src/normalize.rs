//! Memo normalisation.
//!
//! [`normalize`] is used for matching (dictionary and rules) and is the base of the recurring
//! grouping key; [`group_key`] additionally strips noise that varies between occurrences of the
//! same payment.

use unicode_normalization::UnicodeNormalization;

/// Normalises a passbook memo: Unicode NFKC first (decomposed Hangul — NFD, which some systems
/// emit — is composed; compatibility forms such as `㈜` become `(주)`, full-width ASCII becomes
/// half-width, the ideographic space a space), then ASCII letters are lower-cased and every
/// whitespace character is removed (which also trims). Idempotent.
pub fn normalize(memo: &str) -> String {
    let mut out = String::with_capacity(memo.len());
    normalize_into(memo, &mut out);
    out
}

/// [`normalize`] into a reused buffer (cleared first); avoids an allocation per memo in hot
/// loops. Memos already in NFKC (nearly all: precomposed Hangul and ASCII) skip the
/// normalisation pass after a quick check.
pub fn normalize_into(memo: &str, out: &mut String) {
    out.clear();
    let push = |out: &mut String, ch: char| {
        if !ch.is_whitespace() {
            out.push(ch.to_ascii_lowercase());
        }
    };
    if plainly_nfkc(memo)
        || unicode_normalization::is_nfkc_quick(memo.chars())
            == unicode_normalization::IsNormalized::Yes
    {
        for ch in memo.chars() {
            push(out, ch);
        }
    } else {
        for ch in memo.nfkc() {
            push(out, ch);
        }
        // Removing a space can bring a combining mark next to a letter it composes with:
        // normalise again until stable (idempotence), at most a few rounds.
        for _ in 0..3 {
            if unicode_normalization::is_nfkc_quick(out.chars())
                == unicode_normalization::IsNormalized::Yes
            {
                break;
            }
            let again: String = out.nfkc().collect();
            out.clear();
            for ch in again.chars() {
                push(out, ch);
            }
        }
    }
}

/// ASCII and precomposed Hangul syllables (U+AC00–U+D7A3) only: already NFKC (no syllable
/// composes with a following syllable or ASCII character). Nearly every memo; a range check
/// per character, far cheaper than the general quick check.
fn plainly_nfkc(memo: &str) -> bool {
    memo.chars()
        .all(|c| c.is_ascii() || ('\u{AC00}'..='\u{D7A3}').contains(&c))
}

/// A memo's merchant stem: the stable part that names the merchant, for "this merchant"
/// contains-rules and for matching a card cancellation with its purchase. Computed from the
/// memo's words (as received): cancellation markers (`취소`, `부분취소`, `승인취소`,
/// `결제취소`, `환불`, `반품`) are removed, and so are words after the first that are branch
/// names (ending in `점`: `역삼점`, `강남R점`) or sequence numbers (three or more digits), then
/// the rest is normalised and [`group_key`] applied. `이디야커피 역삼점` and `이디야커피 강남점`
/// share the stem `이디야커피`; `스타벅스 강남R점 취소` has the stem of `스타벅스 강남R점`. A memo
/// with nothing left keeps its normalised form.
pub fn merchant_stem(memo: &str) -> String {
    let mut kept = String::new();
    let mut words = 0usize;
    let mut buf = String::new();
    for word in memo.split_whitespace() {
        normalize_into(word, &mut buf);
        let mut w = buf.clone();
        if has_marker_start(&w) {
            for marker in CANCEL_MARKERS {
                w = w.replace(marker, "");
            }
        }
        let w = w.trim_matches(|c: char| matches!(c, '(' | ')' | '[' | ']' | '-' | '/' | '.'));
        if w.is_empty() {
            continue;
        }
        let digits = w.len() >= 3 && w.bytes().all(|b| b.is_ascii_digit() || b == b'-');
        let branch = words > 0 && w.ends_with('점') && w.chars().count() >= 2;
        if digits || branch {
            continue;
        }
        kept.push_str(w);
        words += 1;
    }
    let stem = group_key(&kept).to_string();
    if stem.is_empty() {
        normalize(memo)
    } else {
        stem
    }
}

/// Words in a memo that mark a cancellation or refund of an earlier purchase (normalised).
pub const CANCEL_MARKERS: [&str; 6] = ["부분취소", "승인취소", "결제취소", "취소", "환불", "반품"];

/// Whether a normalised memo marks a cancellation (see [`CANCEL_MARKERS`]).
pub fn is_cancellation_memo(normalized: &str) -> bool {
    has_marker_start(normalized) && CANCEL_MARKERS.iter().any(|m| normalized.contains(m))
}

/// Every marker contains `취`, `환` or `반`: a cheap character scan rules most memos out.
fn has_marker_start(s: &str) -> bool {
    s.contains(['취', '환', '반'])
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
    fn nfkc_composes_hangul_and_folds_compatibility_forms() {
        // "이디야" decomposed into conjoining jamo (NFD).
        let nfd: String = "이디야커피".nfd().collect();
        assert_ne!(nfd, "이디야커피");
        assert_eq!(normalize(&nfd), "이디야커피");
        assert_eq!(normalize("㈜한빛소프트 급여"), "(주)한빛소프트급여");
        assert_eq!(normalize("Ｎｅｔｆｌｉｘ"), "netflix");
        assert_eq!(normalize("㎏"), "kg");
    }

    #[test]
    fn merchant_stems_drop_branches_numbers_and_cancellation_words() {
        assert_eq!(merchant_stem("이디야커피 역삼점"), "이디야커피");
        assert_eq!(merchant_stem("이디야커피 강남점"), "이디야커피");
        assert_eq!(merchant_stem("스타벅스 강남R점 취소"), "스타벅스");
        assert_eq!(merchant_stem("취소 스타벅스 강남R점"), "스타벅스");
        assert_eq!(merchant_stem("GS25 역삼점 0012345"), "gs25");
        assert_eq!(merchant_stem("KT 휴대폰요금 0123"), "kt휴대폰요금");
        // A first word is never taken for a branch; nothing left keeps the memo.
        assert_eq!(merchant_stem("편의점"), "편의점");
        assert_eq!(merchant_stem("취소"), "취소");
        assert!(is_cancellation_memo(&normalize("쿠팡 부분취소")));
        assert!(!is_cancellation_memo(&normalize("쿠팡")));
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
            let _ = merchant_stem(&s);
        }

        #[test]
        fn nfd_and_nfc_memos_normalise_alike(s in "[가-힣a-zA-Z0-9 ]{0,20}") {
            let nfd: String = s.nfd().collect();
            prop_assert_eq!(normalize(&nfd), normalize(&s));
            prop_assert_eq!(merchant_stem(&nfd), merchant_stem(&s));
        }
    }
}
