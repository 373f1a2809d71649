//! The RTSP client against a small scripted server written here: ONVIF backchannel and replay
//! headers, redirects, the Auto transport's fallback to TCP when UDP stays silent, TEARDOWN
//! policies, keepalive method fallback, and answers to requests from the server.

use std::time::Duration;

use bytes::Bytes;
use camlink::rtsp::client::{
    BACKCHANNEL_REQUIRE, Item, Replay, Session, SessionOptions, TeardownPolicy, Timeouts,
    TransportMode,
};
use camlink::rtsp::headers::{LowerTransport, Range, Transport};
use camlink::rtsp::message::Method;
use camlink::rtsp::session::KeepaliveMethod;

mod scripted;
use scripted::*;

#[tokio::test]
async fn backchannel_requires_the_header_everywhere_and_sends_g711() {
    let srv = start(Script {
        backchannel: true,
        ..Script::default()
    })
    .await;
    let mut s = Session::describe(&srv.url, SessionOptions::new().backchannel(true))
        .await
        .unwrap();
    let back = s.streams().iter().find(|i| i.backchannel).unwrap().index;
    assert_eq!(back, 1);
    s.setup_all().await.unwrap(); // the receive stream only
    s.setup(back).await.unwrap();
    s.play().await.unwrap();
    assert_eq!(audio_frames(&mut s, 5).await, 5);
    let packets = pcmu_packets(3, 7);
    s.send_backchannel(back, &packets).await.unwrap();
    s.teardown().await.unwrap();
    for m in [
        Method::Describe,
        Method::Setup,
        Method::Play,
        Method::Teardown,
    ] {
        for r in requests(&srv, m.clone()) {
            assert_eq!(r.headers.get("Require"), Some(BACKCHANNEL_REQUIRE), "{m:?}");
        }
    }
    let setups = requests(&srv, Method::Setup);
    assert_eq!(setups.len(), 2);
    assert!(setups[1].url.ends_with("/back"), "{}", setups[1].url);
    let data = srv.log.lock().unwrap().data.clone();
    let ch = Transport::parse(setups[1].headers.get("Transport").unwrap())
        .interleaved
        .unwrap()
        .0;
    let sent: Vec<&Bytes> = data
        .iter()
        .filter(|(c, _)| *c == ch)
        .map(|(_, p)| p)
        .collect();
    assert_eq!(sent.len(), 3);
    assert_eq!(sent[0], &packets[0]);
}

#[tokio::test]
async fn replay_headers_go_on_play() {
    let srv = start(Script::default()).await;
    let replay = Replay {
        range: Range::parse("clock=20240101T000000Z-"),
        scale: Some(2.0),
        rate_control_off: true,
        immediate: true,
    };
    let mut s = Session::open(&srv.url, SessionOptions::new().replay(replay))
        .await
        .unwrap();
    assert_eq!(audio_frames(&mut s, 3).await, 3);
    let play = requests(&srv, Method::Play).pop().unwrap();
    assert_eq!(play.headers.get("Range"), Some("clock=20240101T000000Z-"));
    assert_eq!(play.headers.get("Scale"), Some("2.0"));
    assert_eq!(play.headers.get("Rate-Control"), Some("no"));
    assert_eq!(play.headers.get("Immediate"), Some("yes"));
    // Live PLAY (no replay) asks for npt=0.000-.
    let mut s = Session::open(&srv.url, SessionOptions::new())
        .await
        .unwrap();
    assert_eq!(audio_frames(&mut s, 1).await, 1);
    let play = requests(&srv, Method::Play).pop().unwrap();
    assert_eq!(play.headers.get("Range"), Some("npt=0.000-"));
    assert!(play.headers.get("Scale").is_none());
}

#[tokio::test]
async fn redirects_are_followed_to_another_server() {
    let target = start(Script::default()).await;
    let front = start(Script {
        redirect_to: Some(target.url.clone()),
        ..Script::default()
    })
    .await;
    let mut s = Session::open(&front.url, SessionOptions::new())
        .await
        .unwrap();
    assert_eq!(audio_frames(&mut s, 3).await, 3);
    assert_eq!(requests(&target, Method::Play).len(), 1);
    assert!(requests(&front, Method::Setup).is_empty());
}

#[tokio::test]
async fn redirect_loops_end_in_a_protocol_error() {
    let srv = start(Script {
        redirect_self: true,
        ..Script::default()
    })
    .await;
    let e = Session::describe(&srv.url, SessionOptions::new())
        .await
        .unwrap_err();
    assert_eq!(e.kind(), &camlink::ErrorKind::Protocol, "{e}");
    // Bounded: the first DESCRIBE plus MAX_REDIRECTS more.
    let n = requests(&srv, Method::Describe).len() as u32;
    assert_eq!(n, camlink::rtsp::session::MAX_REDIRECTS + 1);
}

#[tokio::test]
async fn auto_falls_back_to_tcp_when_udp_stays_silent() {
    let srv = start(Script {
        silent_udp: true,
        ..Script::default()
    })
    .await;
    let opts = SessionOptions::new()
        .transport(TransportMode::Auto)
        .timeouts(Timeouts {
            first_packet: Duration::from_millis(500),
            ..Timeouts::default()
        });
    let mut s = Session::open(&srv.url, opts).await.unwrap();
    assert_eq!(s.transport(), Some(LowerTransport::Tcp));
    assert_eq!(audio_frames(&mut s, 10).await, 10);
    let setups = requests(&srv, Method::Setup);
    assert_eq!(setups.len(), 2);
    assert!(!setups[0].headers.get("Transport").unwrap().contains("TCP"));
    assert!(setups[1].headers.get("Transport").unwrap().contains("TCP"));
    // The UDP session was torn down before the TCP one was set up.
    assert_eq!(requests(&srv, Method::Teardown).len(), 1);
}

async fn teardowns_after_drop(script: Script, opts: SessionOptions) -> usize {
    let srv = start(script).await;
    let mut s = Session::open(&srv.url, opts).await.unwrap();
    assert!(audio_frames(&mut s, 1).await == 1);
    drop(s);
    tokio::time::sleep(Duration::from_millis(300)).await;
    requests(&srv, Method::Teardown).len()
}

#[tokio::test]
async fn teardown_on_drop_follows_the_policy() {
    // TCP, a modern server: closing the connection is enough.
    assert_eq!(
        teardowns_after_drop(Script::default(), SessionOptions::new()).await,
        0
    );
    // TCP, old live555 that keeps streaming to stale sessions: TEARDOWN.
    let old = Script {
        server: Some("LIVE555 Streaming Media v2016.11.28"),
        ..Script::default()
    };
    assert_eq!(teardowns_after_drop(old, SessionOptions::new()).await, 1);
    let new = Script {
        server: Some("LIVE555 Streaming Media v2020.01.01"),
        ..Script::default()
    };
    assert_eq!(teardowns_after_drop(new, SessionOptions::new()).await, 0);
    // Always / Never.
    assert_eq!(
        teardowns_after_drop(
            Script::default(),
            SessionOptions::new().teardown(TeardownPolicy::Always)
        )
        .await,
        1
    );
    let old = Script {
        server: Some("LIVE555 Streaming Media v2016.11.28"),
        ..Script::default()
    };
    assert_eq!(
        teardowns_after_drop(old, SessionOptions::new().teardown(TeardownPolicy::Never)).await,
        0
    );
}

#[tokio::test]
async fn keepalive_moves_to_get_parameter_when_options_is_refused() {
    let srv = start(Script {
        refuse_options_after_first: true,
        session_timeout: 2,
        ..Script::default()
    })
    .await;
    let mut s = Session::open(
        &srv.url,
        SessionOptions::new().keepalive(KeepaliveMethod::Auto),
    )
    .await
    .unwrap();
    assert_eq!(audio_frames(&mut s, 20).await, 20);
    // No more media: keep calling next until keepalives went out (1 s interval).
    let _ = tokio::time::timeout(Duration::from_millis(3500), async {
        loop {
            if s.next().await.is_none() {
                break;
            }
        }
    })
    .await;
    assert!(requests(&srv, Method::Options).len() >= 2);
    assert!(!requests(&srv, Method::GetParameter).is_empty());
}

#[tokio::test]
async fn requests_from_the_server_are_answered() {
    let srv = start(Script {
        server_request: true,
        ..Script::default()
    })
    .await;
    let mut s = Session::open(&srv.url, SessionOptions::new())
        .await
        .unwrap();
    assert_eq!(audio_frames(&mut s, 20).await, 20);
    let _ = tokio::time::timeout(Duration::from_millis(300), s.next()).await;
    let answers = srv.log.lock().unwrap().responses_from_client.clone();
    assert_eq!(answers.len(), 1);
    assert_eq!(answers[0].status, 200);
    assert_eq!(answers[0].headers.cseq(), Some(77));
}

#[tokio::test]
async fn an_endless_response_head_is_a_bounded_error() {
    let srv = start(Script {
        endless_head: true,
        ..Script::default()
    })
    .await;
    let e = Session::describe(&srv.url, SessionOptions::new())
        .await
        .unwrap_err();
    assert!(
        matches!(
            e.kind(),
            camlink::ErrorKind::LimitExceeded | camlink::ErrorKind::Malformed
        ),
        "{e}"
    );
}

#[tokio::test]
async fn receiver_reports_go_out_over_tcp() {
    let srv = start(Script::default()).await;
    let mut s = Session::open(
        &srv.url,
        SessionOptions::new().receiver_report_interval(Duration::from_millis(200)),
    )
    .await
    .unwrap();
    assert_eq!(audio_frames(&mut s, 20).await, 20);
    let _ = tokio::time::timeout(Duration::from_millis(700), async {
        while s.next().await.is_some() {}
    })
    .await;
    let data = srv.log.lock().unwrap().data.clone();
    // Channel 1 is the RTCP channel of the stream on channel 0; an RR has PT 201.
    let rr = data.iter().find(|(c, p)| *c == 1 && p.get(1) == Some(&201));
    let (_, rr) = rr.expect("no receiver report on the RTCP channel");
    let pkts = camlink::rtp::rtcp::parse_compound(rr).unwrap();
    match &pkts[0] {
        camlink::rtp::rtcp::RtcpPacket::ReceiverReport(r) => {
            assert_eq!(r.reports.len(), 1);
            assert_eq!(r.reports[0].ssrc, 0x1234);
            assert_eq!(r.reports[0].cumulative_lost, 0);
        }
        other => panic!("{other:?}"),
    }
}

/// Arbitrary bytes (and arbitrary interleaved frames) from the server after PLAY never panic
/// the client: it hands out items, an error, or nothing, within its timeouts.
mod never_panics {
    use super::*;
    use proptest::prelude::*;

    fn run(garbage: Vec<u8>) {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let srv = start(Script {
                garbage: Some(garbage),
                ..Script::default()
            })
            .await;
            let opts = SessionOptions::new().timeouts(Timeouts {
                no_data: Duration::from_millis(200),
                first_packet: Duration::from_millis(200),
                ..Timeouts::default()
            });
            let Ok(mut s) = Session::open(&srv.url, opts).await else {
                return;
            };
            let r = tokio::time::timeout(Duration::from_secs(5), async {
                let mut n = 0;
                while let Some(r) = s.next().await {
                    n += 1;
                    if r.is_err() || n > 10_000 {
                        break;
                    }
                }
            })
            .await;
            assert!(r.is_ok(), "the client neither ended nor failed");
        });
    }

    fn frames() -> impl Strategy<Value = Vec<u8>> {
        proptest::collection::vec(
            (0u8..4, proptest::collection::vec(any::<u8>(), 0..300)),
            0..40,
        )
        .prop_map(|fs| {
            let mut out = Vec::new();
            for (ch, p) in fs {
                out.push(b'$');
                out.push(ch);
                out.extend_from_slice(&(p.len() as u16).to_be_bytes());
                if p.len() >= 2 {
                    // Mostly RTP version 2 headers, to get past the first check.
                    let mut p = p;
                    p[0] = 0x80 | (p[0] & 0x3f);
                    out.extend_from_slice(&p);
                } else {
                    out.extend_from_slice(&p);
                }
            }
            out
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]
        #[test]
        fn arbitrary_bytes(garbage in proptest::collection::vec(any::<u8>(), 0..4096)) {
            run(garbage);
        }

        #[test]
        fn arbitrary_interleaved_frames(garbage in frames()) {
            run(garbage);
        }
    }
}

#[tokio::test]
async fn packets_before_the_play_answer_are_kept_up_to_a_bound() {
    let n = camlink::rtsp::client::MAX_EARLY_PACKETS + 100;
    let srv = start(Script {
        early_packets: n,
        ..Script::default()
    })
    .await;
    let mut s = Session::open(&srv.url, SessionOptions::new())
        .await
        .unwrap();
    let (mut audio, mut loss) = (0, 0);
    tokio::time::timeout(Duration::from_secs(10), async {
        while audio < camlink::rtsp::client::MAX_EARLY_PACKETS + 20 {
            match s.next().await.unwrap().unwrap() {
                Item::Audio(_) => audio += 1,
                Item::Loss { stream, packets } => {
                    assert_eq!(stream, 0);
                    loss += packets;
                }
                _ => {}
            }
        }
    })
    .await
    .unwrap();
    assert_eq!(loss, 100);
}

/// Read coalescing over TCP: a fast run raises the socket's low-water mark, then packets come
/// one at a time, each far smaller than the mark; each is still delivered within about one
/// interval (the coalescing deadline reads what is there), not held until more data comes,
/// and the TEARDOWN answer is not held back either.
#[tokio::test]
async fn read_coalescing_batches_a_fast_run_and_bounds_the_wait_of_a_slow_one() {
    let interval = Duration::from_millis(100);
    let srv = start(Script {
        paced: vec![
            (150, Duration::from_millis(2)),
            (5, Duration::from_millis(300)),
        ],
        ..Script::default()
    })
    .await;
    let mut s = Session::open(&srv.url, SessionOptions::new().read_coalescing(interval))
        .await
        .unwrap();
    let mut got: Vec<(u32, std::time::Instant)> = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), async {
        while got.len() < 155 {
            if let Item::Audio(f) = s.next().await.unwrap().unwrap() {
                got.push((f.frame.rtp_timestamp, std::time::Instant::now()));
            }
        }
    })
    .await
    .expect("every paced packet within 10 s");
    let sent = srv.log.lock().unwrap().sent.clone();
    // The fast run's packets are not bounded (the mark holds them until it is reached); the
    // slow run's are.
    check_coalesced(&got, &sent, interval, 150);
    let t = std::time::Instant::now();
    s.teardown().await.unwrap();
    assert!(
        t.elapsed() < Duration::from_secs(1),
        "TEARDOWN took {:?}",
        t.elapsed()
    );
    assert_eq!(requests(&srv, Method::Teardown).len(), 1);
}
