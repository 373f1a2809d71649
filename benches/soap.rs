//! SOAP parsing cost: a realistic ~12 KB GetProfiles answer (two profiles, full configurations)
//! parsed into `Vec<Profile>`, against a bare quick-xml event scan of the same bytes (the floor
//! any parser on quick-xml pays). Prints the ratio.

use std::hint::black_box;
use std::time::Instant;

use camlink::onvif::{media, soap};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use quick_xml::NsReader;
use quick_xml::events::Event;

fn fixture() -> Vec<u8> {
    std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fixtures/onvif/GetProfiles_two_profiles.xml"
    ))
    .expect("fixture")
}

fn typed(bytes: &[u8]) -> usize {
    let body = soap::parse_http_response(200, bytes).expect("envelope");
    media::parse_profiles(&body).expect("profiles").len()
}

fn scan(bytes: &[u8]) -> usize {
    let text = std::str::from_utf8(bytes).expect("utf-8");
    let mut r = NsReader::from_str(text);
    let mut n = 0;
    loop {
        match r.read_resolved_event() {
            Ok((_, Event::Eof)) => return n,
            Ok((_, Event::Start(_) | Event::Empty(_))) => n += 1,
            Ok(_) => {}
            Err(e) => panic!("{e}"),
        }
    }
}

fn per_iter(f: impl Fn() -> usize, iters: u32) -> f64 {
    let t = Instant::now();
    for _ in 0..iters {
        black_box(f());
    }
    t.elapsed().as_secs_f64() / f64::from(iters)
}

fn bench(c: &mut Criterion) {
    let bytes = fixture();
    assert_eq!(typed(&bytes), 2);
    let mut g = c.benchmark_group("soap_get_profiles");
    g.throughput(Throughput::Bytes(bytes.len() as u64));
    g.bench_function("typed_parse", |b| b.iter(|| typed(black_box(&bytes))));
    g.bench_function("quick_xml_scan", |b| b.iter(|| scan(black_box(&bytes))));
    g.finish();
    // The ratio, measured in this same run.
    let t_typed = per_iter(|| typed(&bytes), 2000);
    let t_scan = per_iter(|| scan(&bytes), 2000);
    println!(
        "GetProfiles {} bytes: typed parse {:.1} us, quick-xml scan {:.1} us, ratio {:.2}x",
        bytes.len(),
        t_typed * 1e6,
        t_scan * 1e6,
        t_typed / t_scan
    );
}

criterion_group!(benches, bench);
criterion_main!(benches);
