//! The RTSP client against the mock camera: each transport, each codec, authentication,
//! keepalive, and the mock's faults with the outcomes documented in `camlink::rtsp::client`.

#![cfg(feature = "mock")]

use std::time::Duration;

use camlink::ErrorKind;
use camlink::auth::Credentials;
use camlink::codec::FrameInfo;
use camlink::mock::{AudioCodec, AuthScheme, Fault, MockCamera, ProfileConfig, VideoCodec};
use camlink::rtsp::client::{Item, MediaKind, Session, SessionOptions, Timeouts, TransportMode};
use camlink::rtsp::headers::LowerTransport;

const LIMIT: Duration = Duration::from_secs(20);

fn opts() -> SessionOptions {
    SessionOptions::new().credentials(Credentials::new("admin", "secret"))
}

async fn camera(profiles: Vec<ProfileConfig>) -> MockCamera {
    MockCamera::builder()
        .credentials("admin", "secret")
        .profiles(profiles)
        .start()
        .await
        .expect("mock camera")
}

/// Counts of what came out while reading `n` frames (bounded in time).
#[derive(Debug, Default)]
struct Seen {
    video: usize,
    audio: usize,
    metadata: usize,
    keyframes: usize,
    loss: u64,
    sender_reports: usize,
    wall_clock: usize,
    video_infos: Vec<FrameInfo>,
}

async fn collect(s: &mut Session, frames: usize) -> Seen {
    let mut seen = Seen::default();
    tokio::time::timeout(LIMIT, async {
        while seen.video + seen.audio + seen.metadata < frames {
            let item = s.next().await.expect("stream ended").expect("item");
            match item {
                Item::Video(f) => {
                    seen.video += 1;
                    seen.keyframes += usize::from(f.frame.keyframe);
                    seen.wall_clock += usize::from(f.frame.wall_clock.is_some());
                    assert!(!f.frame.payload.is_empty());
                    assert_eq!(f.kind, MediaKind::Video);
                    if seen.video_infos.len() < 4 {
                        seen.video_infos.push(f.frame.info.clone());
                    }
                }
                Item::Audio(f) => {
                    seen.audio += 1;
                    assert!(!f.frame.payload.is_empty());
                }
                Item::Metadata(f) => {
                    seen.metadata += 1;
                    let doc = String::from_utf8(f.frame.payload.to_vec()).expect("utf-8");
                    assert!(doc.contains("MetadataStream"), "{doc}");
                }
                Item::Loss { packets, .. } => seen.loss += packets,
                Item::SenderReport { .. } => seen.sender_reports += 1,
                _ => {}
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("timed out; so far {seen:?}"));
    seen
}

#[tokio::test]
async fn h264_over_tcp_with_digest_auth() {
    let cam = camera(vec![ProfileConfig::new("main", VideoCodec::H264, 320, 240)]).await;
    let mut s = Session::describe(&cam.rtsp_url("main"), opts())
        .await
        .unwrap();
    assert_eq!(s.streams().len(), 1);
    assert!(matches!(
        s.streams()[0].codec,
        camlink::rtsp::sdp::Codec::H264(_)
    ));
    s.setup_all().await.unwrap();
    assert!(s.session_id().is_some());
    s.play().await.unwrap();
    assert_eq!(s.transport(), Some(LowerTransport::Tcp));
    let seen = collect(&mut s, 30).await;
    assert_eq!(seen.video, 30);
    assert!(seen.keyframes >= 1, "{seen:?}");
    assert_eq!(seen.loss, 0);
    assert!(matches!(seen.video_infos[0], FrameInfo::H264 { .. }));
    s.teardown().await.unwrap();
}

#[tokio::test]
async fn first_frame_is_annex_b_with_parameter_sets() {
    let cam = camera(vec![ProfileConfig::new("main", VideoCodec::H264, 320, 240)]).await;
    let mut s = Session::open(&cam.rtsp_url("main"), opts()).await.unwrap();
    let f = loop {
        match s.next().await.unwrap().unwrap() {
            Item::Video(f) => break f,
            _ => continue,
        }
    };
    assert!(f.frame.keyframe);
    assert_eq!(&f.frame.payload.to_vec()[..4], &[0, 0, 0, 1]);
    // An SPS (type 7) is in the first keyframe.
    let p = &f.frame.payload.to_vec();
    assert!(
        p.windows(5)
            .any(|w| w[..4] == [0, 0, 0, 1] && w[4] & 0x1f == 7),
        "no SPS in the first access unit"
    );
}

#[tokio::test]
async fn credentials_in_the_url_work() {
    let cam = camera(vec![ProfileConfig::new("main", VideoCodec::H264, 320, 240)]).await;
    let url = cam
        .rtsp_url("main")
        .replace("rtsp://", "rtsp://admin:secret@");
    let mut s = Session::open(&url, SessionOptions::new()).await.unwrap();
    assert_eq!(collect(&mut s, 3).await.video, 3);
}

#[tokio::test]
async fn wrong_password_is_unauthorized() {
    let cam = camera(vec![ProfileConfig::new("main", VideoCodec::H264, 320, 240)]).await;
    let e = Session::describe(
        &cam.rtsp_url("main"),
        SessionOptions::new().credentials(Credentials::new("admin", "wrong")),
    )
    .await
    .unwrap_err();
    assert_eq!(e.kind(), &ErrorKind::Unauthorized, "{e}");
    assert!(
        !e.to_string().contains("wrong"),
        "password in the error: {e}"
    );
}

#[tokio::test]
async fn no_credentials_is_unauthorized() {
    let cam = camera(vec![ProfileConfig::new("main", VideoCodec::H264, 320, 240)]).await;
    let e = Session::describe(&cam.rtsp_url("main"), SessionOptions::new())
        .await
        .unwrap_err();
    assert_eq!(e.kind(), &ErrorKind::Unauthorized, "{e}");
}

#[tokio::test]
async fn basic_auth_is_refused_on_plain_rtsp_unless_allowed() {
    let cam = MockCamera::builder()
        .credentials("admin", "secret")
        .auth_schemes(&[AuthScheme::Basic])
        .profiles(vec![ProfileConfig::new("main", VideoCodec::H264, 320, 240)])
        .start()
        .await
        .unwrap();
    let e = Session::describe(&cam.rtsp_url("main"), opts())
        .await
        .unwrap_err();
    assert_eq!(e.kind(), &ErrorKind::Unsupported, "{e}");
    let mut s = Session::open(&cam.rtsp_url("main"), opts().basic_over_plaintext(true))
        .await
        .unwrap();
    assert_eq!(collect(&mut s, 3).await.video, 3);
}

/// The profiles of the every-codec tests: each video codec, each audio codec, metadata.
fn every_codec() -> Vec<ProfileConfig> {
    vec![
        ProfileConfig::new("h264", VideoCodec::H264, 320, 240).with_audio(AudioCodec::Aac),
        ProfileConfig::new("h265", VideoCodec::H265, 320, 240).with_audio(AudioCodec::Pcmu),
        ProfileConfig::new("jpeg", VideoCodec::Jpeg, 320, 240)
            .with_audio(AudioCodec::Pcma)
            .with_metadata(),
    ]
}

#[tokio::test]
async fn every_codec_over_tcp() {
    let cam = MockCamera::builder()
        .credentials("admin", "secret")
        .profiles(every_codec())
        .unpaced(true)
        .start()
        .await
        .unwrap();
    receive_every_codec(&cam, TransportMode::Tcp).await;
}

/// Over UDP the in-order packets of H.264/H.265 are handed to the depacketizer borrowed from
/// the receive call's buffer, those of the other codecs as packets of their own: both paths,
/// with a paced camera (an unpaced one would overrun the socket buffer).
#[tokio::test]
async fn every_codec_over_udp() {
    let cam = MockCamera::builder()
        .credentials("admin", "secret")
        .profiles(every_codec())
        .start()
        .await
        .unwrap();
    receive_every_codec(&cam, TransportMode::Udp).await;
}

/// Ten video frames, five audio frames (and metadata with JPEG) of each profile, of the right
/// kinds, with no loss.
async fn receive_every_codec(cam: &MockCamera, transport: TransportMode) {
    for token in ["h264", "h265", "jpeg"] {
        let mut s = Session::open(&cam.rtsp_url(token), opts().transport(transport))
            .await
            .unwrap();
        let kinds: Vec<MediaKind> = s.streams().iter().map(|i| i.kind).collect();
        let mut seen = Seen::default();
        tokio::time::timeout(LIMIT, async {
            while seen.video < 10 || seen.audio < 5 || (token == "jpeg" && seen.metadata < 1) {
                match s.next().await.unwrap().unwrap() {
                    Item::Video(f) => {
                        seen.video += 1;
                        match (token, &f.frame.info) {
                            ("h264", FrameInfo::H264 { .. }) | ("h265", FrameInfo::H265 { .. }) => {
                            }
                            ("jpeg", FrameInfo::Jpeg { width, height }) => {
                                assert_eq!((*width, *height), (320, 240));
                            }
                            other => panic!("unexpected video frame {other:?}"),
                        }
                    }
                    Item::Audio(f) => {
                        seen.audio += 1;
                        match (token, &f.frame.info) {
                            ("h264", FrameInfo::Aac)
                            | ("h265", FrameInfo::G711 { .. })
                            | ("jpeg", FrameInfo::G711 { .. }) => {}
                            other => panic!("unexpected audio frame {other:?}"),
                        }
                    }
                    Item::Metadata(_) => seen.metadata += 1,
                    Item::Loss { packets, stream } => panic!("loss of {packets} on {stream}"),
                    _ => {}
                }
            }
        })
        .await
        .unwrap_or_else(|_| {
            panic!("{token} over {transport:?}: timed out with {seen:?} (streams {kinds:?})")
        });
        s.teardown().await.unwrap();
    }
}

#[tokio::test]
async fn udp_unicast_with_sender_reports() {
    let cam = camera(vec![ProfileConfig::new("main", VideoCodec::H264, 320, 240)]).await;
    let mut s = Session::open(&cam.rtsp_url("main"), opts().transport(TransportMode::Udp))
        .await
        .unwrap();
    assert_eq!(s.transport(), Some(LowerTransport::Udp));
    let seen = collect(&mut s, 40).await;
    assert_eq!(seen.video, 40);
    assert!(seen.sender_reports >= 1, "{seen:?}");
    assert!(
        seen.wall_clock >= 1,
        "no wall clock from sender reports: {seen:?}"
    );
    s.teardown().await.unwrap();
}

#[tokio::test]
async fn udp_ports_come_from_the_range_as_an_even_pair() {
    let cam = camera(vec![ProfileConfig::new("main", VideoCodec::H264, 320, 240)]).await;
    let mut s = Session::describe(
        &cam.rtsp_url("main"),
        opts()
            .transport(TransportMode::Udp)
            .udp_ports(41000..=41999),
    )
    .await
    .unwrap();
    s.setup_all().await.unwrap();
    s.play().await.unwrap();
    assert_eq!(collect(&mut s, 3).await.video, 3);
    // The mock sends to the client ports we asked for; check they are in range and even.
    let port = s.local_udp_ports().first().copied().expect("a UDP stream");
    assert!((41000..=41999).contains(&port) && port % 2 == 0, "{port}");
}

#[tokio::test]
async fn auto_transport_plays_over_udp_on_loopback() {
    let cam = camera(vec![ProfileConfig::new("main", VideoCodec::H264, 320, 240)]).await;
    let mut s = Session::open(&cam.rtsp_url("main"), opts().transport(TransportMode::Auto))
        .await
        .unwrap();
    assert_eq!(collect(&mut s, 5).await.video, 5);
    assert_eq!(s.transport(), Some(LowerTransport::Udp));
}

#[tokio::test]
async fn rtsps_with_pinned_fingerprint_and_basic_auth() {
    let cam = MockCamera::builder()
        .credentials("admin", "secret")
        .auth_schemes(&[AuthScheme::Basic])
        .profiles(vec![ProfileConfig::new("main", VideoCodec::H264, 320, 240)])
        .start()
        .await
        .unwrap();
    let url = cam.rtsps_url("main").expect("rtsps on");
    // Verification on by default: a self-signed certificate is refused.
    let e = Session::describe(&url, opts()).await.unwrap_err();
    assert_eq!(e.kind(), &ErrorKind::TlsCertificate, "{e}");
    let fp = camlink::onvif::tls::parse_fingerprint(cam.https_fingerprint().unwrap()).unwrap();
    let mut s = Session::open(
        &url,
        opts().tls(camlink::onvif::tls::TlsPolicy::PinnedSha256(fp)),
    )
    .await
    .unwrap();
    assert_eq!(s.tls_fingerprint(), Some(fp));
    assert_eq!(collect(&mut s, 5).await.video, 5);
    s.teardown().await.unwrap();
}

#[tokio::test]
async fn into_stream_yields_items() {
    let cam = camera(vec![ProfileConfig::new("main", VideoCodec::H264, 320, 240)]).await;
    let s = Session::open(&cam.rtsp_url("main"), opts()).await.unwrap();
    let mut stream = Box::pin(s.into_stream());
    let mut video = 0;
    tokio::time::timeout(LIMIT, async {
        while video < 5 {
            let item =
                std::future::poll_fn(|cx| futures_core::Stream::poll_next(stream.as_mut(), cx))
                    .await
                    .unwrap()
                    .unwrap();
            if matches!(item, Item::Video(_)) {
                video += 1;
            }
        }
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn keepalive_holds_a_session_beyond_three_timeouts() {
    let cam = MockCamera::builder()
        .credentials("admin", "secret")
        .profiles(vec![ProfileConfig::new("main", VideoCodec::H264, 160, 120)])
        .session_timeout(Duration::from_secs(2))
        .start()
        .await
        .unwrap();
    // Over UDP only keepalives (and RTCP RRs) keep the session; make the RRs rare so the
    // RTSP keepalive has to do it.
    let mut s = Session::open(
        &cam.rtsp_url("main"),
        opts()
            .transport(TransportMode::Udp)
            .receiver_report_interval(Duration::from_secs(60)),
    )
    .await
    .unwrap();
    let before = cam.request_count();
    let end = tokio::time::Instant::now() + Duration::from_secs(7);
    let mut video = 0;
    while tokio::time::Instant::now() < end {
        match tokio::time::timeout(Duration::from_secs(3), s.next()).await {
            Ok(Some(Ok(Item::Video(_)))) => video += 1,
            Ok(Some(Ok(_))) => {}
            other => panic!("stream broke after {video} frames: {other:?}"),
        }
    }
    assert!(video > 100, "{video}");
    let keepalives = cam.request_count() - before;
    assert!(
        keepalives >= 5,
        "only {keepalives} keepalives in 7 s with a 2 s timeout"
    );
}

#[tokio::test]
async fn timeouts_are_configurable() {
    let t = Timeouts {
        response: Duration::from_millis(500),
        ..Timeouts::default()
    };
    let cam = camera(vec![ProfileConfig::new("main", VideoCodec::H264, 320, 240)]).await;
    cam.set_fault(Fault::Stall);
    let start = std::time::Instant::now();
    let e = Session::describe(&cam.rtsp_url("main"), opts().timeouts(t))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), &ErrorKind::Timeout, "{e}");
    assert!(start.elapsed() < Duration::from_secs(3));
}

#[tokio::test]
async fn ipv6_loopback_over_tcp_and_udp() {
    let Ok(cam) = MockCamera::builder()
        .bind("::1".parse().unwrap())
        .credentials("admin", "secret")
        .profiles(vec![ProfileConfig::new("main", VideoCodec::H264, 160, 120)])
        .start()
        .await
    else {
        eprintln!("no IPv6 loopback here: test skipped");
        return;
    };
    let url = cam.rtsp_url("main");
    assert!(url.contains("[::1]"), "{url}");
    for t in [TransportMode::Tcp, TransportMode::Udp] {
        let mut s = Session::open(&url, opts().transport(t)).await.unwrap();
        assert_eq!(collect(&mut s, 3).await.video, 3, "{t:?}");
        s.teardown().await.unwrap();
    }
}
