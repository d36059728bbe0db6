//! The client address used for limits and logs: the socket peer, or the right-most
//! `X-Forwarded-For` entry that is not a trusted proxy, and only when the peer itself is a
//! trusted proxy (security-checklist RL-4). Anyone else's forwarding headers are ignored.
use std::net::{IpAddr, SocketAddr};

use axum::http::HeaderMap;

pub fn resolve(peer: SocketAddr, headers: &HeaderMap, trusted: &[ipnet::IpNet]) -> IpAddr {
    let peer_ip = peer.ip();
    if !trusted.iter().any(|net| net.contains(&peer_ip)) {
        return peer_ip;
    }
    let forwarded: Vec<IpAddr> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    forwarded.iter().rev().find(|ip| !trusted.iter().any(|net| net.contains(*ip))).copied().unwrap_or(peer_ip)
}

/// The key per-IP limits count: the address, or its /64 for IPv6 (one host often owns a /64).
pub fn limit_key(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => {
            let s = v6.segments();
            format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forwarded_for_is_ignored_from_untrusted_peers() {
        let mut headers = HeaderMap::new();
        headers.insert("x-forwarded-for", "203.0.113.9".parse().expect("valid"));
        let peer: SocketAddr = "198.51.100.1:5000".parse().expect("valid");
        assert_eq!(resolve(peer, &headers, &[]), peer.ip());
        let trusted = vec!["198.51.100.0/24".parse().expect("valid")];
        assert_eq!(resolve(peer, &headers, &trusted), "203.0.113.9".parse::<IpAddr>().expect("valid"));
    }
}
