//! Any bytes: parsing, validation, prefilter extraction and (when the pattern
//! parses) matching against a small fixed observation set must not panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use liaison_pattern::{parse, prefilter_literals, validate, CompiledPattern, Observations, StixVersion};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(pattern) = parse(text) else { return };
    // The canonical rendering must parse back to the same tree.
    let rendered = pattern.to_string();
    let again = parse(&rendered).expect("canonical form parses");
    assert_eq!(again, pattern, "round trip of {rendered:?}");
    let _ = validate(&pattern, StixVersion::V21);
    let _ = prefilter_literals(&pattern);
    if let Ok(m) = CompiledPattern::new(pattern, StixVersion::V20) {
        let obs: Vec<serde_json::Value> = serde_json::from_str(
            r#"[{"type":"observed-data","first_observed":"2020-01-01T00:00:00Z","last_observed":"2020-01-01T00:00:05Z","number_observed":3,
                 "objects":{"0":{"type":"file","name":"a.exe","size":10,"hashes":{"MD5":"00"},"parent_ref":"1","x_refs":["1"],"payload_bin":"aGk=","h_hex":"00ff"},
                            "1":{"type":"ipv4-addr","value":"10.0.0.1"}}}]"#,
        )
        .expect("fixed observations");
        if let Ok(o) = Observations::new(&obs, StixVersion::V20) {
            let _ = m.matches(&o);
        }
    }
});
