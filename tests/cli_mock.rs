//! `camlink mock` end to end: it prints its URLs (JSON), serves, and stops cleanly on Ctrl-C.
#![cfg(feature = "cli")]

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

#[test]
fn mock_command_serves_and_stops_on_ctrl_c() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_camlink"))
        .args([
            "mock",
            "--json",
            "--discovery-port",
            "0",
            "--user",
            "admin",
            "--fault",
            "loss=0.01",
        ])
        .env("CAMLINK_PASSWORD", "cli-secret")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start camlink mock");
    let stdout = child.stdout.take().unwrap();
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).unwrap();
    let v: serde_json::Value = serde_json::from_str(&line).expect("JSON line");
    let url = v["device_service"].as_str().unwrap().to_string();
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    assert_eq!(v["rtsp"][0]["profile"], "main");
    assert_eq!(v["user"], "admin");
    assert!(!line.contains("cli-secret"));

    // It answers: an unauthenticated SOAP GetSystemDateAndTime over a raw connection.
    let u = url::Url::parse(&url).unwrap();
    let mut s = std::net::TcpStream::connect((u.host_str().unwrap(), u.port().unwrap())).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let body = r#"<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body><GetSystemDateAndTime xmlns="http://www.onvif.org/ver10/device/wsdl"/></s:Body></s:Envelope>"#;
    use std::io::{Read, Write};
    write!(
        s,
        "POST {} HTTP/1.1\r\nHost: x\r\nContent-Type: application/soap+xml\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        u.path(),
        body.len()
    )
    .unwrap();
    let mut answer = String::new();
    s.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains("GetSystemDateAndTimeResponse"));

    // Ctrl-C (SIGINT) stops it cleanly.
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(st) = child.try_wait().unwrap() {
            assert!(st.success(), "exit status {st:?}");
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "camlink mock did not stop"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    assert!(!err.contains("cli-secret"), "{err}");
}

#[test]
fn bad_fault_name_is_a_clear_error() {
    let out = Command::new(env!("CARGO_BIN_EXE_camlink"))
        .args(["mock", "--fault", "earthquake"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.starts_with("error[invalid_input]: "), "{err}");
    assert!(err.contains("earthquake"));
}
