//! Framing of our transcript fixture: the exact items, and the same items for any split.

mod common;

use camlink::ErrorKind;
use camlink::rtsp::framing::{Framer, Item, Limits};
use camlink::rtsp::headers::{RtpInfo, SessionHeader, Transport};
use camlink::rtsp::message::{Message, Method};
use proptest::prelude::*;

type Outcome = Result<Item, ErrorKind>;

fn transcript() -> Vec<u8> {
    std::fs::read(common::fixture_path(
        "rtsp/interleaved_play_transcript.rtsp",
    ))
    .unwrap()
}

fn drain(f: &mut Framer, out: &mut Vec<Outcome>) {
    for _ in 0..100_000 {
        match f.next_item() {
            Ok(Some(i)) => out.push(Ok(i)),
            Ok(None) => return,
            Err(e) => out.push(Err(e.kind().clone())),
        }
    }
    panic!("framer did not settle");
}

fn frame_chunks<'a>(limits: Limits, chunks: impl IntoIterator<Item = &'a [u8]>) -> Vec<Outcome> {
    let mut f = Framer::new(limits);
    let mut out = Vec::new();
    for c in chunks {
        f.read_buf().extend_from_slice(c);
        drain(&mut f, &mut out);
    }
    out
}

/// A compact description of an item, for readable assertions.
fn describe(o: &Outcome) -> String {
    match o {
        Ok(Item::Data { channel, payload }) => format!("${channel}:{}", payload.len()),
        Ok(Item::Message(Message::Response(r))) => {
            format!("{} cseq={:?}", r.status, r.headers.cseq())
        }
        Ok(Item::Message(Message::Request(r))) => {
            format!("{} cseq={:?}", r.method, r.headers.cseq())
        }
        Err(k) => format!("error {k}"),
    }
}

#[test]
fn transcript_items_are_exact() {
    let t = transcript();
    let items = frame_chunks(Limits::default(), [&t[..]]);
    let got: Vec<String> = items.iter().map(describe).collect();
    assert_eq!(
        got,
        [
            "200 cseq=Some(1)",
            "200 cseq=Some(2)",
            "200 cseq=Some(3)",
            "$0:1412",
            "200 cseq=Some(4)",
            "$0:1412",
            "$0:1412",
            "$0:1412",
            "$0:1412",
            "$1:28",
            "$4:112",
            "GET_PARAMETER cseq=Some(1)",
            "$0:1412",
            "200 cseq=Some(5)",
            "$0:0",
        ]
    );
    // Values a client needs, from the quirky messages.
    let Ok(Item::Message(Message::Response(describe))) = &items[1] else {
        panic!()
    };
    assert!(
        describe.body.starts_with(b"v=0\r\n")
            && describe.body.ends_with(b"a=control:trackID=1\r\n")
    );
    let Ok(Item::Message(Message::Response(setup))) = &items[2] else {
        panic!()
    };
    let t = Transport::parse(setup.headers.get("Transport").unwrap());
    assert_eq!(
        (t.ssrc, t.mode.as_deref()),
        (Some(0x0d6d6627), Some("play"))
    );
    let s = SessionHeader::parse(setup.headers.get("Session").unwrap()).unwrap();
    assert_eq!((s.id.as_str(), s.timeout), ("708886412", Some(60)));
    let Ok(Item::Message(Message::Response(play))) = &items[4] else {
        panic!()
    };
    assert_eq!(play.reason, "");
    let info = RtpInfo::parse_list(play.headers.get("RTP-Info").unwrap());
    assert_eq!((info[0].seq, info[0].rtptime), (Some(1), Some(4096)));
    let Ok(Item::Message(Message::Request(get))) = &items[11] else {
        panic!()
    };
    assert_eq!(get.method, Method::GetParameter);
    let Ok(Item::Message(Message::Response(last))) = &items[13] else {
        panic!()
    };
    assert_eq!(&last.body[..], b"Parameters\r\n");
}

#[test]
fn transcript_at_every_split_point() {
    let t = transcript();
    let whole = frame_chunks(Limits::default(), [&t[..]]);
    for cut in 0..=t.len() {
        let got = frame_chunks(Limits::default(), [&t[..cut], &t[cut..]]);
        assert_eq!(got, whole, "split at {cut}");
    }
}

#[test]
fn transcript_byte_by_byte_drops_the_junk() {
    let t = transcript();
    let whole = frame_chunks(Limits::default(), [&t[..]]);
    let mut f = Framer::default();
    let mut got = Vec::new();
    for b in &t {
        f.push(std::slice::from_ref(b)).unwrap();
        drain(&mut f, &mut got);
    }
    assert_eq!(got, whole);
    assert_eq!(
        f.junk_bytes(),
        10,
        "the junk between GET_PARAMETER and the next frame"
    );
    assert_eq!(f.offset(), t.len() as u64);
}

/// Cut `input` at the given (sorted, deduplicated) points.
fn cut_at(input: &[u8], mut points: Vec<usize>) -> Vec<&[u8]> {
    points.iter_mut().for_each(|p| *p %= input.len() + 1);
    points.sort_unstable();
    points.dedup();
    let mut chunks = Vec::new();
    let mut last = 0;
    for p in points {
        chunks.push(&input[last..p]);
        last = p;
    }
    chunks.push(&input[last..]);
    chunks
}

/// Bytes that look like RTSP often enough to reach every branch of the framer.
fn rtsp_ish() -> impl Strategy<Value = Vec<u8>> {
    let piece = prop_oneof![
        Just(b"RTSP/1.0 200 OK\r\nCSeq: 1\r\n\r\n".to_vec()),
        Just(b"RTSP/1.0 200\nContent-Length: 3\n\nabc".to_vec()),
        Just(b"PLAY rtsp://h/ RTSP/1.0\r\n\r\n".to_vec()),
        Just(b"Content-Length: 99999999999999999999\r\n".to_vec()),
        Just(b"\r\n".to_vec()),
        Just(b"$\x00\x00\x02ab".to_vec()),
        Just(b"$".to_vec()),
        Just(b"RTS".to_vec()),
        proptest::collection::vec(any::<u8>(), 0..12),
    ];
    proptest::collection::vec(piece, 0..24).prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn transcript_random_n_way_splits(points in proptest::collection::vec(any::<usize>(), 0..40)) {
        let t = transcript();
        let whole = frame_chunks(Limits::default(), [&t[..]]);
        let got = frame_chunks(Limits::default(), cut_at(&t, points));
        prop_assert_eq!(got, whole);
    }

    #[test]
    fn arbitrary_bytes_never_panic_and_split_invariant(
        input in rtsp_ish(),
        points in proptest::collection::vec(any::<usize>(), 0..8),
    ) {
        // Small limits so that the limit paths are reached too.
        let limits = Limits { max_head: 64, max_body: 16, max_buffered: 1 << 20 };
        let whole = frame_chunks(limits, [&input[..]]);
        let got = frame_chunks(limits, cut_at(&input, points));
        prop_assert_eq!(got, whole);
    }

    #[test]
    fn random_bytes_never_panic(input in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let _ = frame_chunks(Limits::default(), [&input[..]]);
    }
}
