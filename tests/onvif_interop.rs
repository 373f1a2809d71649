//! Interop with two ONVIF device servers written by others (`../shared/peers/onvif-peer`:
//! onvif-server 0.1.1 and oxvif 0.17's mock), started on 127.0.0.1.
//!
//! Gated by `CAMLINK_ONVIF_PEER=/path/to/onvif-peer` (built by `scripts/build-onvif-peer.sh`).
//! Unset: skipped with a note. Set but the binary is missing or does not start: FAIL.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use camlink::ErrorKind;
use camlink::auth::Credentials;
use camlink::onvif::client::{OnvifClient, OnvifOptions};
use camlink::onvif::device;
use camlink::onvif::media::{StreamTransport, VideoEncoding};
use camlink::onvif::ptz::PtzVector;

const STREAM: &str = "rtsp://127.0.0.1:8554/h264";

struct Peer {
    child: Child,
    url: String,
}

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn peer_binary() -> Option<String> {
    let Some(bin) = std::env::var_os("CAMLINK_ONVIF_PEER") else {
        eprintln!("CAMLINK_ONVIF_PEER is not set: ONVIF interop tests skipped");
        return None;
    };
    let bin = bin.to_string_lossy().into_owned();
    assert!(
        std::path::Path::new(&bin).is_file(),
        "CAMLINK_ONVIF_PEER={bin} does not exist: run scripts/build-onvif-peer.sh"
    );
    Some(bin)
}

fn start(bin: &str, imp: &str) -> Peer {
    let mut child = Command::new(bin)
        .args([
            "--impl",
            imp,
            "--port",
            "0",
            "--user",
            "admin",
            "--password",
            "secret",
        ])
        .args(["--stream-uri", STREAM])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {bin}: {e}"));
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = BufReader::new(stdout).read_line(&mut line);
        let _ = tx.send(line);
    });
    let line = rx
        .recv_timeout(Duration::from_secs(20))
        .unwrap_or_else(|_| panic!("{imp}: no ready line within 20 s"));
    let url = line
        .trim()
        .strip_prefix("ready ")
        .unwrap_or_else(|| panic!("{imp}: unexpected first line {line:?}"))
        .to_string();
    Peer { child, url }
}

fn opts(password: &str) -> OnvifOptions {
    OnvifOptions {
        credentials: Some(Credentials::new("admin", password)),
        timeout: Duration::from_secs(5),
        ..OnvifOptions::default()
    }
}

async fn common_checks(imp: &str, peer: &Peer) -> OnvifClient {
    let cam = OnvifClient::connect(&peer.url, opts("secret"))
        .await
        .unwrap_or_else(|e| panic!("{imp}: connect: {e}"));
    let info = cam.device_information().await.unwrap();
    assert_eq!(info.manufacturer, "Acme Vision", "{imp}");
    assert_eq!(info.model, "AV-IPC2142H", "{imp}");
    assert_eq!(info.firmware_version, "V5.7.3 build 230915", "{imp}");
    assert_eq!(info.serial_number, "AV2142H20230915AAWR4711", "{imp}");
    assert_eq!(info.hardware_id, "88", "{imp}");
    let scopes = cam.scopes().await.unwrap();
    assert_eq!(
        device::scope_value(&scopes, "name").as_deref(),
        Some("Acme_Vision"),
        "{imp}"
    );
    assert_eq!(
        device::scope_value(&scopes, "hardware").as_deref(),
        Some("AV-IPC2142H"),
        "{imp}"
    );
    assert_eq!(
        cam.hostname().await.unwrap().name.as_deref(),
        Some("av-ipc2142h"),
        "{imp}"
    );
    assert!(
        cam.clock_offset().abs() < 5,
        "{imp}: both peers run on this machine's clock"
    );

    // A wrong password reads as "unauthorized" (onvif-server: HTTP 500 "Authentication
    // failed"; oxvif: HTTP 200 wsse:FailedAuthentication).
    let bad = OnvifClient::new(&peer.url, opts("wrong")).unwrap();
    let err = bad.device_information().await.unwrap_err();
    assert_eq!(err.kind(), &ErrorKind::Unauthorized, "{imp}: {err}");
    cam
}

async fn ptz_checks(imp: &str, cam: &OnvifClient, profile: &str) {
    assert!(!cam.ptz_nodes().await.unwrap().is_empty(), "{imp}");
    cam.continuous_move(
        profile,
        PtzVector::pan_tilt(0.2, 0.0),
        Some(Duration::from_secs(1)),
    )
    .await
    .unwrap();
    cam.ptz_stop(profile).await.unwrap();
    cam.absolute_move(
        profile,
        PtzVector {
            pan_tilt: Some((0.1, 0.1)),
            zoom: Some(0.0),
        },
        None,
    )
    .await
    .unwrap();
    let status = cam.ptz_status(profile).await.unwrap();
    assert!(
        status.pan_tilt_status.is_some() || status.position.is_some(),
        "{imp}: {status:?}"
    );
    let token = cam
        .set_preset(profile, Some("camlink door"), None)
        .await
        .unwrap();
    let presets = cam.presets(profile).await.unwrap();
    assert!(
        presets
            .iter()
            .any(|p| p.token == token && p.name == "camlink door"),
        "{imp}: {presets:?}"
    );
    cam.goto_preset(profile, &token).await.unwrap();
    cam.remove_preset(profile, &token).await.unwrap();
    assert!(
        !cam.presets(profile)
            .await
            .unwrap()
            .iter()
            .any(|p| p.token == token),
        "{imp}"
    );
}

#[tokio::test]
async fn onvif_server_peer() {
    let Some(bin) = peer_binary() else { return };
    let imp = "onvif-server";
    let peer = start(&bin, imp);
    let cam = common_checks(imp, &peer).await;

    let profiles = cam.profiles().await.unwrap();
    let summary: Vec<_> = profiles
        .iter()
        .map(|p| {
            let v = p.video_encoder.as_ref().unwrap();
            let r = v.resolution.unwrap();
            (p.token.as_str(), v.encoding.clone(), r.width, r.height)
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("profile_main", VideoEncoding::H264, 1920, 1080),
            ("profile_sub", VideoEncoding::H264, 640, 360)
        ]
    );
    for p in &profiles {
        let uri = cam
            .stream_uri(&p.token, StreamTransport::RtspTcp)
            .await
            .unwrap();
        assert_eq!(uri.uri, STREAM);
    }
    // Unknown token: a plain SOAP fault (ter:InvalidArgVal), not "unsupported".
    let err = cam
        .stream_uri("nope", StreamTransport::RtspTcp)
        .await
        .unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::SoapFault { .. }), "{err}");
    // No snapshot here: ActionNotSupported (subcode only in env:Detail) reads as unsupported.
    let err = cam.snapshot_uri("profile_main").await.unwrap_err();
    assert_eq!(err.kind(), &ErrorKind::Unsupported, "{err}");
    let err = cam.network_protocols().await.unwrap_err();
    assert_eq!(err.kind(), &ErrorKind::Unsupported, "{err}");

    let source = profiles[0]
        .video_source
        .as_ref()
        .unwrap()
        .source_token
        .clone();
    let img = cam.imaging_settings(&source).await.unwrap();
    assert_eq!((img.brightness, img.contrast), (Some(50.0), Some(50.0)));

    ptz_checks(imp, &cam, "profile_main").await;

    // Events: the subscription id is a reference parameter that must be echoed; the device
    // never has messages, so an empty pull is the success case.
    let sub = cam
        .create_pull_point(Duration::from_secs(60))
        .await
        .unwrap();
    assert!(!sub.reference_parameters.is_empty(), "{sub:?}");
    let pulled = cam
        .pull_messages(&sub, Duration::from_secs(1), 10)
        .await
        .unwrap();
    assert!(pulled.messages.is_empty());
    // Its TopicSet is empty: parsed as no topics, not as an error.
    assert!(cam.event_properties().await.unwrap().is_empty());
}

#[tokio::test]
async fn oxvif_peer() {
    let Some(bin) = peer_binary() else { return };
    let imp = "oxvif";
    let peer = start(&bin, imp);
    let cam = common_checks(imp, &peer).await;

    let services = cam.services().await.unwrap();
    assert!(services.media2.is_some(), "{services:?}");
    assert!(
        services.events.is_some(),
        "events XAddr comes from GetCapabilities: {services:?}"
    );

    let profiles = cam.profiles().await.unwrap();
    let tokens: Vec<_> = profiles.iter().map(|p| p.token.as_str()).collect();
    assert_eq!(&tokens[..2], ["Profile_1", "Profile_2"], "{profiles:?}");
    let main = profiles[0].video_encoder.as_ref().unwrap();
    assert_eq!(main.encoding, VideoEncoding::H264);
    assert_eq!(
        main.resolution.map(|r| (r.width, r.height)),
        Some((1920, 1080))
    );
    let uri = cam
        .stream_uri("Profile_1", StreamTransport::RtspTcp)
        .await
        .unwrap();
    assert_eq!(uri.uri, STREAM);
    let port = peer
        .url
        .split(':')
        .nth(2)
        .unwrap()
        .split('/')
        .next()
        .unwrap();
    let snap = cam.snapshot_uri("Profile_1").await.unwrap();
    assert_eq!(
        snap.uri,
        format!("http://127.0.0.1:{port}/mock/snapshot.jpg")
    );
    let image = cam.fetch_snapshot(&snap.uri).await.unwrap();
    assert!(image.data.starts_with(b"BM"), "oxvif serves a BMP");

    let protos = cam.network_protocols().await.unwrap();
    assert_eq!(device::protocol_port(&protos, "RTSP"), Some(554));

    let source = profiles[0]
        .video_source
        .as_ref()
        .unwrap()
        .source_token
        .clone();
    let img = cam.imaging_settings(&source).await.unwrap();
    assert_eq!(img.brightness, Some(60.0));
    assert!(
        cam.imaging_options(&source)
            .await
            .unwrap()
            .brightness
            .is_some()
    );

    ptz_checks(imp, &cam, "Profile_1").await;

    // Events: one synthetic notification per pull.
    let mut stream = cam.subscribe().with_wait(Duration::from_secs(1));
    let n = tokio::time::timeout(Duration::from_secs(20), stream.next())
        .await
        .expect("a notification in time")
        .expect("stream open")
        .expect("no error");
    assert!(!n.topic.is_empty());
    assert!(!n.data.is_empty() || !n.source.is_empty(), "{n:?}");
    stream.close().await.unwrap();
}
