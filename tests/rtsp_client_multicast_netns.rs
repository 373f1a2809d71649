//! UDP multicast for real, inside a private network namespace that holds only `lo` (created
//! here with `ip netns`, removed afterwards; the group is routed to that `lo` only). A small
//! in-test RTSP server answers SETUP with a multicast `Transport` and sends G.711 packets to the
//! group; the client joins it and hands out the frames. Skipped, with a note, when
//! `ip netns add` is not permitted (not root).

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use camlink::codec::g711::G711Packetizer;
use camlink::codec::{Packetizer, PacketizerConfig};
use camlink::rtsp::client::{Item, Session, SessionOptions, TransportMode};
use camlink::rtsp::framing::{Framer, Item as Framed, Limits};
use camlink::rtsp::message::{Message, Method, Response};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const INNER_ENV: &str = "CAMLINK_RTSP_MULTICAST_NETNS_INNER";
const GROUP: &str = "239.7.7.7";
const PORT: u16 = 40_000;

struct Netns(String);

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.0]).status();
    }
}

fn ip(args: &[&str]) {
    let st = Command::new("ip").args(args).status().expect("run ip");
    assert!(st.success(), "ip {args:?} failed");
}

#[test]
fn multicast_session_in_a_private_network_namespace() {
    if std::env::var_os(INNER_ENV).is_some() {
        return;
    }
    let name = format!("camlink-rtspmc-{}", std::process::id());
    let added = Command::new("ip")
        .args(["netns", "add", &name])
        .stderr(Stdio::null())
        .status();
    if !matches!(added, Ok(s) if s.success()) {
        eprintln!("SKIPPED: `ip netns add` is not permitted here; multicast not tested");
        return;
    }
    let ns = Netns(name);
    ip(&["-n", &ns.0, "link", "set", "lo", "up"]);
    ip(&["-n", &ns.0, "link", "set", "lo", "multicast", "on"]);
    ip(&["-n", &ns.0, "route", "add", "224.0.0.0/4", "dev", "lo"]);
    let exe = std::env::current_exe().unwrap();
    let mut child = Command::new("ip")
        .args(["netns", "exec", &ns.0])
        .arg(exe)
        .args([
            "--exact",
            "inner_multicast_session",
            "--ignored",
            "--nocapture",
        ])
        .env(INNER_ENV, &ns.0)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("the inner test did not finish in 60 s");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(status.success(), "inner test failed:\n{stdout}\n{stderr}");
    assert!(
        stdout.contains("1 passed"),
        "inner test did not run:\n{stdout}\n{stderr}"
    );
}

/// A one-connection server: multicast SETUP, then packets to the group after PLAY.
async fn serve(listener: tokio::net::TcpListener) {
    let Ok((mut s, _)) = listener.accept().await else {
        return;
    };
    let mut framer = Framer::new(Limits::default());
    loop {
        let item = match framer.next_item() {
            Ok(Some(i)) => i,
            Ok(None) => match s.read_buf(framer.read_buf()).await {
                Ok(n) if n > 0 => continue,
                _ => return,
            },
            Err(_) => return,
        };
        let Framed::Message(Message::Request(req)) = item else {
            continue;
        };
        let cseq = req.headers.cseq().unwrap_or(0);
        let b = Response::builder(200).cseq(cseq);
        let resp = match req.method {
            Method::Describe => b
                .header("Content-Type", "application/sdp")
                .body(format!(
                    "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=mc\r\nc=IN IP4 {GROUP}/1\r\nt=0 0\r\n\
                     m=audio {PORT} RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=control:track1\r\n"
                ))
                .build(),
            Method::Setup => b
                .header(
                    "Transport",
                    format!(
                        "RTP/AVP;multicast;destination={GROUP};port={PORT}-{};ttl=1",
                        PORT + 1
                    ),
                )
                .header("Session", "MC;timeout=60")
                .build(),
            _ => b.header("Session", "MC").build(),
        }
        .unwrap();
        if s.write_all(&resp.to_bytes()).await.is_err() {
            return;
        }
        if req.method == Method::Play {
            tokio::spawn(async {
                let sock = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
                sock.set_multicast_loop_v4(true).unwrap();
                let mut p = G711Packetizer::new(PacketizerConfig::new(0, 0x77)).unwrap();
                for i in 0..200u32 {
                    let mut out = Vec::new();
                    p.packetize(&[0x55; 160], i * 160, &mut out).unwrap();
                    for pkt in out {
                        let _ = sock.send_to(&pkt, (GROUP, PORT)).await;
                    }
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            });
        }
    }
}

#[tokio::test]
#[ignore = "runs inside a network namespace, started by multicast_session_in_a_private_network_namespace"]
async fn inner_multicast_session() {
    assert!(
        std::env::var_os(INNER_ENV).is_some(),
        "run only by the outer test"
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("rtsp://{}/mc", listener.local_addr().unwrap());
    tokio::spawn(serve(listener));
    let mut s = Session::open(
        &url,
        SessionOptions::new().transport(TransportMode::Multicast),
    )
    .await
    .unwrap();
    assert_eq!(s.local_udp_ports(), vec![PORT]);
    let mut audio = 0;
    tokio::time::timeout(Duration::from_secs(10), async {
        while audio < 20 {
            if let Item::Audio(f) = s.next().await.unwrap().unwrap() {
                assert_eq!(f.frame.payload.len(), 160);
                audio += 1;
            }
        }
    })
    .await
    .expect("multicast packets arrive");
}
