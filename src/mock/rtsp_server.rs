//! placeholder
pub(crate) async fn serve(_s: std::sync::Arc<super::camera::Shared>, _t: tokio::net::TcpStream, _p: std::net::SocketAddr) {}
