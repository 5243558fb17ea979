//! Property tests of the scan grammar: random valid AI sets survive a round trip through the
//! raw (GS-separated), bracketed and `^`-separated element-string forms, and no input panics.

use chrono::NaiveDate;
use lotline::domain::gs1::{parse_bracketed, parse_element_string, parse_unbracketed};
use lotline::domain::ids::gs1_check_digit;
use lotline::domain::scan::parse_scan;
use proptest::prelude::*;

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 21).unwrap()
}

fn with_check(body: String) -> String {
    let c = gs1_check_digit(body.as_bytes());
    format!("{body}{c}")
}

fn gtin() -> impl Strategy<Value = String> {
    "[0-9]{13}".prop_map(with_check)
}

fn date() -> impl Strategy<Value = String> {
    (0u32..100, 1u32..=12, 1u32..=28).prop_map(|(y, m, d)| format!("{y:02}{m:02}{d:02}"))
}

/// GS1 character set 82, without the characters that need escaping in the bracketed form.
fn cset82(max: usize) -> impl Strategy<Value = String> {
    proptest::string::string_regex(&format!("[A-Za-z0-9!\"%&'*+,./:;<=>?_-]{{1,{max}}}")).unwrap()
}

/// (AI, value) pairs in an order a label would carry them: GTIN first, then a subset of the rest.
fn ai_set() -> impl Strategy<Value = Vec<(String, String)>> {
    (
        gtin(),
        proptest::option::of(date()),
        proptest::option::of(date()),
        proptest::option::of(cset82(20)),
        proptest::option::of(cset82(20)),
        proptest::option::of("[0-9]{1,8}"),
        proptest::option::of("[0-9]{6}"),
    )
        .prop_map(|(g, prod, exp, lot, serial, count, weight)| {
            let mut v = vec![("01".to_owned(), g)];
            if let Some(d) = prod {
                v.push(("11".into(), d));
            }
            if let Some(d) = exp {
                v.push(("17".into(), d));
            }
            if let Some(w) = weight {
                v.push(("3103".into(), w));
            }
            if let Some(c) = count {
                v.push(("30".into(), c));
            }
            if let Some(l) = lot {
                v.push(("10".into(), l));
            }
            if let Some(s) = serial {
                v.push(("21".into(), s));
            }
            v
        })
}

fn fixed_length(ai: &str) -> bool {
    matches!(ai, "01" | "11" | "17" | "3103")
}

fn raw(ais: &[(String, String)], sep: char) -> String {
    let mut s = String::new();
    for (i, (ai, v)) in ais.iter().enumerate() {
        s.push_str(ai);
        s.push_str(v);
        if !fixed_length(ai) && i + 1 < ais.len() {
            s.push(sep);
        }
    }
    s
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn element_strings_round_trip(ais in ai_set()) {
        let bracketed: String = ais.iter().map(|(a, v)| format!("({a}){v}")).collect();
        prop_assert_eq!(&parse_element_string(&raw(&ais, '\u{1d}'), today()).unwrap(), &ais);
        prop_assert_eq!(&parse_bracketed(&bracketed, today()).unwrap(), &ais);
        prop_assert_eq!(&parse_unbracketed(&format!("^{}", raw(&ais, '^')), today()).unwrap(), &ais);
        let scan = parse_scan(format!("]d2{}", raw(&ais, '\u{1d}')).as_bytes(), None, &Default::default(), today()).unwrap();
        prop_assert_eq!(&scan.ais, &ais);
        prop_assert_eq!(scan.bracketed(), bracketed);
    }

    #[test]
    fn any_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
        let _ = parse_scan(&bytes, None, &Default::default(), today());
    }

    #[test]
    fn scanner_shaped_garbage_never_panics(s in "(\\]d2|\\]C1|\\]Q3|\\(|\\^)?[0-9()^\\x1d<GS>A-Z]{0,48}") {
        let _ = parse_scan(s.as_bytes(), None, &Default::default(), today());
    }
}
