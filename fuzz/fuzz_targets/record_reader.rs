//! The record reader on arbitrary file contents (plain, gzip or zstd,
//! chosen by the first byte) in every layout: never panics; records come in
//! order, inside the batch, without overlap; tiny batches give the same
//! records as the default.
#![no_main]

use std::io::Write;

use libfuzzer_sys::fuzz_target;
use neardup_io::{Discover, Layout, RecordReader, Unit};

fuzz_target!(|data: &[u8]| {
    let Some((&mode, body)) = data.split_first() else { return };
    let bytes = match mode % 4 {
        0 | 1 => body.to_vec(),
        2 => {
            let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            e.write_all(body).unwrap();
            let mut gz = e.finish().unwrap();
            // Sometimes truncated.
            if mode & 0x10 != 0 {
                gz.truncate(gz.len() / 2);
            }
            gz
        }
        _ => zstd::encode_all(body, 1).unwrap(),
    };
    let dir = tempfile::tempdir().unwrap();
    let name = if mode & 0x20 != 0 { "in.jsonl" } else { "in.txt" };
    let path = dir.path().join(name);
    std::fs::write(&path, &bytes).unwrap();
    let sources = Discover::default().sources(&[path]).unwrap();
    for unit in [Unit::File, Unit::Lines, Unit::Paragraphs] {
        let read = |layout: Layout| {
            let mut out = Vec::new();
            for batch in RecordReader::new(&sources, layout) {
                let mut at = 0;
                for r in &batch.records {
                    assert!(r.start >= at && r.start <= r.end && r.end + r.tail <= batch.data.len());
                    at = r.end + r.tail;
                    out.push((r.line, batch.data[r.start..r.end + r.tail].to_vec(), r.error.clone()));
                }
            }
            out
        };
        let max = 1 + (mode as u64 % 64) * 4;
        let default = read(Layout { unit, max_record_bytes: max, ..Layout::default() });
        let tiny = read(Layout { unit, max_record_bytes: max, batch_bytes: 1, batch_records: 1 });
        assert_eq!(default, tiny);
    }
});
