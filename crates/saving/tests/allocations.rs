//! A file's header cannot make a load allocate what it claims: the largest single
//! allocation while loading files that claim terabytes stays small.
mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::io::Write;
use std::sync::atomic::{AtomicUsize, Ordering};

use common::*;

struct Largest;

static LARGEST: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Largest {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LARGEST.fetch_max(layout.size(), Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LARGEST.fetch_max(new_size, Ordering::Relaxed);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Largest = Largest;

/// The bytes of plain.weights.h5 with `layers/dense/vars/0` claiming shape (3, 2^40).
fn lying_h5() -> Vec<u8> {
    let mut bytes = std::fs::read(keras_file("plain.weights.h5")).unwrap();
    let dims: Vec<u8> = [3u64, 4].iter().flat_map(|d| d.to_le_bytes()).collect();
    let huge: Vec<u8> = [3u64, 1 << 40]
        .iter()
        .flat_map(|d| d.to_le_bytes())
        .collect();
    for i in 0..bytes.len() - 16 {
        if bytes[i..i + 16] == dims[..] {
            bytes[i..i + 16].copy_from_slice(&huge);
        }
    }
    bytes
}

/// trained.keras rewritten (stored members) with model.weights.h5's recorded size 2 GiB.
fn lying_archive() -> Vec<u8> {
    let f = std::fs::File::open(keras_file("trained.keras")).unwrap();
    let mut z = zip::ZipArchive::new(f).unwrap();
    let mut out = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    let mut weights_len = 0;
    for name in ["config.json", "metadata.json", "model.weights.h5"] {
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(&mut z.by_name(name).unwrap(), &mut bytes).unwrap();
        if name == "model.weights.h5" {
            weights_len = bytes.len() as u32;
        }
        out.start_file(name, opts).unwrap();
        out.write_all(&bytes).unwrap();
    }
    let mut bytes = out.finish().unwrap().into_inner();
    // the uncompressed size of the weights' local header (offset 22) and central entry (24)
    let name = b"model.weights.h5";
    for (sig, at) in [(b"PK\x03\x04", 22usize), (b"PK\x01\x02", 24)] {
        let offset = if at == 22 { 26 } else { 28 };
        let name_at = if at == 22 { 30 } else { 46 };
        for i in 0..bytes.len() - name_at - name.len() {
            if &bytes[i..i + 4] == sig
                && &bytes[i + name_at..i + name_at + name.len()] == name
                && u16::from_le_bytes([bytes[i + offset], bytes[i + offset + 1]]) as usize
                    == name.len()
            {
                let size = u32::from_le_bytes(bytes[i + at..i + at + 4].try_into().unwrap());
                assert_eq!(size, weights_len);
                bytes[i + at..i + at + 4].copy_from_slice(&0x7fff_ffffu32.to_le_bytes());
            }
        }
    }
    bytes
}

#[test]
fn lying_headers_allocate_nothing_of_their_claim() {
    let dir = tmp();
    let h5 = dir.path().join("huge.weights.h5");
    std::fs::write(&h5, lying_h5()).unwrap();
    let archive = dir.path().join("huge.keras");
    std::fs::write(&archive, lying_archive()).unwrap();
    let m = model();
    LARGEST.store(0, Ordering::Relaxed);
    let e1 = tapegrad_saving::load_weights(&m, &h5)
        .unwrap_err()
        .to_string();
    let e2 = tapegrad_saving::load_model(&archive)
        .unwrap_err()
        .to_string();
    let largest = LARGEST.load(Ordering::Relaxed);
    assert!(e1.contains("[3, 1099511627776] in the file"), "{e1}");
    assert!(
        e2.contains("model.weights.h5` claims 2147483647 bytes"),
        "{e2}"
    );
    assert!(largest < 1 << 26, "an allocation of {largest} bytes");
}
