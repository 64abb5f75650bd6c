//! `liaison screen` input handling end to end: files mapped in windows and
//! read from streams, cut in chunks, must give the hits (line numbers, byte
//! offsets, columns) and line counts that one pass over the text gives —
//! across chunk and window boundaries, over-long lines, NUL bytes, invalid
//! UTF-8, a missing final newline and empty files.

use serde_json::Value;
use std::io::Write;
use std::path::Path;
use std::process::Command;

const TERM: &str = "zqxplant";

struct Out {
    code: i32,
    stdout: String,
    stderr: String,
}

fn screen(args: &[&str]) -> Out {
    let o = Command::new(env!("CARGO_BIN_EXE_liaison"))
        .arg("screen")
        .args(args)
        .output()
        .expect("run liaison");
    Out {
        code: o.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
    }
}

/// (line, offset, column) of every occurrence of `TERM`, found line by line.
fn expected(text: &[u8]) -> Vec<(u64, u64, u64)> {
    let mut hits = Vec::new();
    let mut start = 0usize;
    for (i, line) in text.split(|&b| b == b'\n').enumerate() {
        let mut from = 0;
        while let Some(p) = memfind(&line[from..], TERM.as_bytes()) {
            let col = from + p;
            hits.push(((i + 1) as u64, (start + col) as u64, col as u64));
            from = col + 1;
        }
        start += line.len() + 1;
    }
    hits
}

fn memfind(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn lines_of(text: &[u8]) -> u64 {
    let nl = text.iter().filter(|&&b| b == b'\n').count() as u64;
    nl + u64::from(!text.is_empty() && text.last() != Some(&b'\n'))
}

fn hits_of(out: &Out) -> Vec<(u64, u64, u64)> {
    out.stdout
        .lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).expect("a JSON line");
            assert_eq!(v["matched"], TERM, "{l}");
            (
                v["line"].as_u64().unwrap(),
                v["offset"].as_u64().unwrap(),
                v["column"].as_u64().unwrap(),
            )
        })
        .collect()
}

/// Lines screened, from `--stats`.
fn screened_lines(out: &Out) -> u64 {
    let s = out
        .stderr
        .split("screened ")
        .nth(1)
        .unwrap_or_else(|| panic!("no stats in {}", out.stderr));
    s.split(' ').next().unwrap().parse().unwrap()
}

/// About 4.5 MB of short lines (80,000) with the term on some of them (several times
/// on a few), NUL bytes, invalid UTF-8, CRLF ends, a 10 MB line with the term
/// at its start, middle and end, and no final newline.
fn corpus() -> Vec<u8> {
    let mut t = Vec::new();
    let mut n = 0u64;
    while n < 80_000 {
        n += 1;
        match n % 97 {
            0 => t.extend_from_slice(format!("{n} x{TERM}y and {TERM}\n").as_bytes()),
            13 => t.extend_from_slice(format!("{n}\0\0 nul {TERM}\0\n").as_bytes()),
            29 => t.extend_from_slice(b"bad \xff\xfe utf-8 \xc3\n"),
            41 => t.extend_from_slice(format!("{n} crlf {TERM}\r\n").as_bytes()),
            57 => t.extend_from_slice(b"\n"),
            _ => t.extend_from_slice(
                format!("{n} the quick brown fox jumps over the lazy dog zqxplan\n").as_bytes(),
            ),
        }
        if n == 20_000 {
            let mut long = vec![b'a'; 10 << 20];
            long[..TERM.len()].copy_from_slice(TERM.as_bytes());
            let mid = long.len() / 2;
            long[mid..mid + TERM.len()].copy_from_slice(TERM.as_bytes());
            let end = long.len() - TERM.len();
            long[end..].copy_from_slice(TERM.as_bytes());
            t.extend_from_slice(&long);
            t.push(b'\n');
        }
    }
    t.extend_from_slice(format!("last line {TERM} without newline").as_bytes());
    t
}

fn write(dir: &Path, name: &str, data: &[u8]) -> String {
    let p = dir.join(name);
    std::fs::write(&p, data).unwrap();
    p.to_str().unwrap().to_string()
}

#[test]
fn hits_and_lines_are_the_same_mapped_read_gzipped_and_on_one_thread() {
    let dir = tempfile::tempdir().unwrap();
    let text = corpus();
    let want = expected(&text);
    assert!(want.len() > 1000);
    let w = write(dir.path(), "w.txt", format!("{TERM}\n").as_bytes());
    let f = write(dir.path(), "corpus.txt", &text);
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&text).unwrap();
    let g = write(dir.path(), "corpus.txt.gz", &gz.finish().unwrap());
    // 1 MiB chunks in 2 MiB windows: many chunk and window boundaries, and
    // the 10 MB line longer than a window.
    let small = ["--chunk-mib", "1", "--window-mib", "2"];
    let runs: Vec<(&str, Vec<&str>)> = vec![
        ("mapped", small.to_vec()),
        ("read", [&small[..], &["--no-mmap"]].concat()),
        ("gzip", small.to_vec()),
        ("mapped, one thread", [&small[..], &["-j", "1"]].concat()),
        ("mapped, default sizes", vec![]),
    ];
    for (name, extra) in runs {
        let input = if name == "gzip" { &g } else { &f };
        let mut args = vec!["--no-extract", "--stats", "-f", &w];
        args.extend_from_slice(&extra);
        args.push(input);
        let out = screen(&args);
        assert_eq!(out.code, 0, "{name}: {}", out.stderr);
        assert_eq!(hits_of(&out), want, "{name}: hits");
        assert_eq!(screened_lines(&out), lines_of(&text), "{name}: lines");

        let mut args = vec!["--no-extract", "-c", "-f", &w];
        args.extend_from_slice(&extra);
        args.push(input);
        let out = screen(&args);
        let mut lines: Vec<u64> = want.iter().map(|h| h.0).collect();
        lines.dedup();
        assert_eq!(out.stdout.trim(), lines.len().to_string(), "{name}: count");
    }
}

#[test]
fn json_lines_keep_their_line_numbers_across_chunks() {
    let dir = tempfile::tempdir().unwrap();
    let mut text = Vec::new();
    let mut want = Vec::new();
    let mut bad = Vec::new();
    let mut n = 0u64;
    while text.len() < 3_000_000 {
        n += 1;
        let start = text.len() as u64;
        if n % 1000 == 7 {
            text.extend_from_slice(b"not json\n");
            bad.push(n);
        } else if n.is_multiple_of(50) {
            text.extend_from_slice(
                format!("{{\"id\":{n},\"msg\":\"seen {TERM} here\"}}\n").as_bytes(),
            );
            want.push((n, start, 5));
        } else {
            text.extend_from_slice(format!("{{\"id\":{n},\"msg\":\"nothing here\"}}\n").as_bytes());
        }
    }
    let w = write(dir.path(), "w.txt", format!("{TERM}\n").as_bytes());
    let f = write(dir.path(), "lines.jsonl", &text);
    for extra in [&[][..], &["--no-mmap"][..]] {
        let mut args = vec![
            "--no-extract",
            "--field",
            "msg",
            "--chunk-mib",
            "1",
            "--window-mib",
            "1",
            "-f",
            &w,
        ];
        args.extend_from_slice(extra);
        args.push(&f);
        let out = screen(&args);
        assert_eq!(out.code, 0, "{}", out.stderr);
        assert_eq!(hits_of(&out), want, "{extra:?}");
        // Each chunk's bad lines are reported from the chunk's first line,
        // which is at or before the first bad line in it, and after the
        // previous report's.
        let from: Vec<u64> = out
            .stderr
            .lines()
            .filter(|l| l.contains("are not JSON"))
            .map(|l| {
                l.split("from line ")
                    .nth(1)
                    .unwrap()
                    .split(' ')
                    .next()
                    .unwrap()
                    .parse()
                    .unwrap()
            })
            .collect();
        assert!(from.len() >= 2, "{}", out.stderr);
        assert!(from.windows(2).all(|p| p[0] < p[1]), "{from:?}");
        assert!(from[0] <= bad[0] && from[0] > 0, "{from:?}");
        let reported: u64 = out
            .stderr
            .lines()
            .filter(|l| l.contains("are not JSON"))
            .map(|l| {
                let head = l.split(" of the lines").next().unwrap();
                head.rsplit(' ').next().unwrap().parse::<u64>().unwrap()
            })
            .sum();
        assert_eq!(reported, bad.len() as u64);
    }
}

#[test]
fn empty_and_newline_free_files() {
    let dir = tempfile::tempdir().unwrap();
    let w = write(dir.path(), "w.txt", format!("{TERM}\n").as_bytes());
    let empty = write(dir.path(), "empty.txt", b"");
    let out = screen(&["--no-extract", "--stats", "-f", &w, &empty]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert_eq!(out.stdout, "");
    assert_eq!(screened_lines(&out), 0);

    let one = format!("no newline, {TERM}");
    let f = write(dir.path(), "one.txt", one.as_bytes());
    for extra in [None, Some("--no-mmap")] {
        let mut args = vec!["--no-extract", "--stats", "-f", &w];
        args.extend(extra);
        args.push(&f);
        let out = screen(&args);
        assert_eq!(out.code, 0, "{}", out.stderr);
        assert_eq!(hits_of(&out), vec![(1, 12, 12)]);
        assert_eq!(screened_lines(&out), 1);
    }
}
