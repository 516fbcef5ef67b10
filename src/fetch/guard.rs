//! Where requests may go: the server-side request forgery guard.
//!
//! The sources an operator configures are trusted as written, loopback and private addresses
//! and private names included (a public name that resolves to a private address is checked
//! like any other: list it in `fetch.private_hosts`; so are the proxies the environment
//! names, see [`proxy_names`]). What is refused (both configurable, both on by default):
//! - a **redirect** from a public host to a loopback, private, link-local or metadata address
//!   (an IP literal, or a name such as `localhost` that is private by definition), at any hop
//!   of a chain, also one that began at a trusted private source;
//! - a **DNS answer** for a public name that points at such an address (DNS rebinding, or a
//!   public name that an attacker points at the metadata service). Names that are private by
//!   definition (`localhost`, single labels, `.local`, `.internal`, `.lan`, `.home.arpa`) and
//!   the names listed in `fetch.private_hosts` may resolve anywhere.
//!
//! The resolver is plugged into reqwest ([`GuardedResolver`]), so the check applies to the
//! address actually connected to, not to an earlier lookup.

use std::collections::{HashMap, HashSet};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use url::{Host, Url};

/// The guard refused an address; found in reqwest's error chain by downcasting.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct BlockedAddress(pub String);

/// True for loopback, private, shared (CGNAT), link-local (metadata), unspecified, broadcast,
/// multicast, reserved and unique-local addresses, including IPv4 addresses carried inside
/// IPv6 ones (mapped, compatible, NAT64 and 6to4: each reaches the IPv4 address it holds).
pub fn is_private_ip(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_private_v4(v4),
        IpAddr::V6(v6) => {
            let seg = v6.segments();
            let embedded = |hi: u16, lo: u16| {
                let [a, b] = hi.to_be_bytes();
                let [c, d] = lo.to_be_bytes();
                Ipv4Addr::new(a, b, c, d)
            };
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_private_v4(v4);
            }
            // ::a.b.c.d (IPv4-compatible, deprecated) and 64:ff9b::a.b.c.d (NAT64).
            if seg[..6] == [0; 6] && !v6.is_loopback() && !v6.is_unspecified()
                || seg[..6] == [0x64, 0xff9b, 0, 0, 0, 0]
            {
                return is_private_v4(embedded(seg[6], seg[7]));
            }
            // 2002:AABB:CCDD::/48 (6to4) carries AA.BB.CC.DD.
            if seg[0] == 0x2002 && is_private_v4(embedded(seg[1], seg[2])) {
                return true;
            }
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast() // ff00::/8
                || (seg[0] & 0xfe00) == 0xfc00 // fc00::/7 unique local (incl. fd00:ec2::254)
                || (seg[0] & 0xffc0) == 0xfe80 // fe80::/10 link local
                || (seg[0] & 0xffc0) == 0xfec0 // fec0::/10 site local (deprecated)
        }
    }
}

fn is_private_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    ip.is_loopback()            // 127/8
        || ip.is_private()      // 10/8, 172.16/12, 192.168/16
        || ip.is_link_local()   // 169.254/16, the cloud metadata range
        || ip.is_unspecified()  // 0.0.0.0
        || ip.is_broadcast()
        || ip.is_multicast()    // 224/4
        || a >= 240             // 240/4 reserved
        || a == 0               // 0/8 "this network"
        || (a == 100 && (b & 0xc0) == 64) // 100.64/10 shared address space (some metadata)
        || (a == 198 && (b & 0xfe) == 18) // 198.18/15 benchmarking (device networks)
        || (a == 192 && b == 0 && c == 0) // 192.0.0/24 protocol assignments
}

/// Names that are private by definition and never resolved on the public internet.
fn is_private_name(name: &str) -> bool {
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    !name.contains('.')
        || name == "localhost"
        || [
            ".localhost",
            ".local",
            ".internal",
            ".lan",
            ".home.arpa",
            ".localdomain",
        ]
        .iter()
        .any(|s| name.ends_with(s))
}

/// What the guard allows; built once from the configuration.
#[derive(Debug, Clone, Default)]
pub struct Guard {
    /// Refuse redirects from public to private targets.
    pub refuse_private_redirects: bool,
    /// Refuse DNS answers pointing public names at private addresses.
    pub refuse_private_dns: bool,
    /// Names trusted to resolve to private addresses (lower case, no trailing dot).
    pub private_hosts: HashSet<String>,
}

impl Guard {
    /// Whether `url` points at a private target: a private IP literal, a private-by-definition
    /// name, or a name listed in `fetch.private_hosts`.
    pub fn is_private_target(&self, url: &Url) -> bool {
        match url.host() {
            Some(Host::Ipv4(ip)) => is_private_ip(IpAddr::V4(ip)),
            Some(Host::Ipv6(ip)) => is_private_ip(IpAddr::V6(ip)),
            Some(Host::Domain(d)) => is_private_name(d) || self.is_trusted_name(d),
            None => true,
        }
    }

    fn is_trusted_name(&self, name: &str) -> bool {
        let name = name.trim_end_matches('.').to_ascii_lowercase();
        self.private_hosts.contains(&name)
    }

    /// Checks one redirect hop: `origin` is the URL that answered with the redirect. Checked
    /// hop by hop, a chain never goes from a public host to a private one, wherever it began.
    pub fn check_redirect(&self, origin: &Url, target: &Url) -> Result<(), BlockedAddress> {
        if self.refuse_private_redirects
            && !self.is_private_target(origin)
            && self.is_private_target(target)
        {
            return Err(BlockedAddress(format!(
                "redirect from the public address {} to the private address {} \
                 (fetch.refuse_private_redirects)",
                origin.host_str().unwrap_or("?"),
                target.host_str().unwrap_or("?")
            )));
        }
        Ok(())
    }

    /// Filters a DNS answer for `name`: private addresses are dropped for public names; an
    /// answer with nothing left is refused.
    pub fn filter_answer(
        &self,
        name: &str,
        addrs: Vec<SocketAddr>,
    ) -> Result<Vec<SocketAddr>, BlockedAddress> {
        if !self.refuse_private_dns || is_private_name(name) || self.is_trusted_name(name) {
            return Ok(addrs);
        }
        let (private, public): (Vec<_>, Vec<_>) =
            addrs.into_iter().partition(|a| is_private_ip(a.ip()));
        if public.is_empty() && !private.is_empty() {
            return Err(BlockedAddress(format!(
                "the public name {name} resolves to the private address {} \
                 (list it in fetch.private_hosts to allow it)",
                private[0].ip()
            )));
        }
        Ok(public)
    }
}

/// The variables reqwest reads its proxies from (its "system proxies").
pub const PROXY_VARIABLES: [&str; 6] = [
    "HTTP_PROXY",
    "http_proxy",
    "HTTPS_PROXY",
    "https_proxy",
    "ALL_PROXY",
    "all_proxy",
];

/// The proxies the environment names by a host name, as (variable, name): the operator's own
/// infrastructure, which like `fetch.private_hosts` may resolve to a private address (a
/// proxy on the office network is the usual case; without this, the DNS guard refused every
/// poll through it). `lookup` reads one variable: the process's environment, or a test's.
pub fn proxy_names(lookup: impl Fn(&str) -> Option<String>) -> Vec<(&'static str, String)> {
    PROXY_VARIABLES
        .iter()
        .filter_map(|&var| {
            let raw = lookup(var)?;
            let raw = raw.trim();
            // reqwest takes `proxy.corp:3128` without a scheme as http.
            let url = Url::parse(raw)
                .ok()
                .filter(Url::has_host)
                .or_else(|| Url::parse(&format!("http://{raw}")).ok())?;
            match url.host()? {
                // A `socks5://` URL's host is always a "domain" to the url crate.
                Host::Domain(d) if d.parse::<IpAddr>().is_err() => {
                    Some((var, d.trim_end_matches('.').to_ascii_lowercase()))
                }
                _ => None,
            }
        })
        .collect()
}

/// The system resolver (`getaddrinfo` through tokio) behind the [`Guard`].
#[derive(Debug, Clone)]
pub struct GuardedResolver {
    guard: Arc<Guard>,
    /// Fixed answers that bypass the system resolver but not the guard (tests).
    fixed: Arc<HashMap<String, Vec<IpAddr>>>,
}

impl GuardedResolver {
    /// A resolver applying `guard`, with optional fixed answers.
    pub fn new(guard: Arc<Guard>, fixed: HashMap<String, Vec<IpAddr>>) -> Self {
        Self {
            guard,
            fixed: Arc::new(fixed),
        }
    }
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let guard = self.guard.clone();
        let fixed = self.fixed.clone();
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let addrs: Vec<SocketAddr> = match fixed.get(&host) {
                Some(ips) => ips.iter().map(|ip| SocketAddr::new(*ip, 0)).collect(),
                None => tokio::net::lookup_host((host.as_str(), 0)).await?.collect(),
            };
            let allowed = guard.filter_answer(&host, addrs)?;
            let addrs: Addrs = Box::new(allowed.into_iter());
            Ok(addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn guard() -> Guard {
        Guard {
            refuse_private_redirects: true,
            refuse_private_dns: true,
            private_hosts: ["feeds.corp.example".to_owned()].into_iter().collect(),
        }
    }

    #[test]
    fn the_proxies_the_environment_names_by_name_are_found() {
        let env: HashMap<&str, &str> = [
            ("HTTPS_PROXY", "http://user:pw@Proxy.Corp.Example:3128"),
            ("http_proxy", "cache.corp.example.:8080"),
            ("ALL_PROXY", "socks5://10.0.0.9:1080"),
            ("all_proxy", ""),
        ]
        .into_iter()
        .collect();
        let found = proxy_names(|v| env.get(v).map(|s| s.to_string()));
        assert_eq!(
            found,
            [
                ("http_proxy", "cache.corp.example".to_owned()),
                ("HTTPS_PROXY", "proxy.corp.example".to_owned()),
            ]
        );
        assert!(proxy_names(|_| None).is_empty());
    }

    #[test]
    fn private_ranges_are_recognised() {
        for ip in [
            "127.0.0.1",
            "127.8.9.10",
            "10.1.2.3",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "169.254.169.254",
            "100.100.100.200",
            "0.0.0.0",
            "::1",
            "fc00::1",
            "fd00:ec2::254",
            "fe80::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            // IPv4 inside IPv6: compatible, NAT64, 6to4.
            "::127.0.0.1",
            "64:ff9b::7f00:1",
            "64:ff9b::a9fe:a9fe",
            "2002:7f00:1::1",
            "2002:a9fe:a9fe::",
            "fec0::1",
            "ff02::1",
            "224.0.0.1",
            "239.255.255.250",
            "240.0.0.1",
            "198.18.0.1",
            "198.19.255.255",
            "192.0.0.170",
        ] {
            assert!(is_private_ip(ip.parse().unwrap()), "{ip}");
        }
        for ip in [
            "8.8.8.8",
            "172.32.0.1",
            "192.169.0.1",
            "198.20.0.1",
            "192.0.2.1",
            "2a00:1450::1",
            "::ffff:8.8.8.8",
            "64:ff9b::808:808",
            "2002:808:808::1",
        ] {
            assert!(!is_private_ip(ip.parse().unwrap()), "{ip}");
        }
    }

    #[test]
    fn redirects_from_public_to_private_are_refused() {
        let g = guard();
        let public = Url::parse("https://news.example.com/feed").unwrap();
        for target in [
            "http://127.0.0.1/x",
            "http://[::1]/x",
            "http://169.254.169.254/latest/meta-data/",
            "http://10.0.0.7/",
            "http://localhost:8080/",
            "http://metadata.google.internal/",
            "http://router/",
        ] {
            let t = Url::parse(target).unwrap();
            assert!(g.check_redirect(&public, &t).is_err(), "{target}");
        }
        // Public to public, private to private, private to public: allowed.
        let other = Url::parse("https://cdn.example.net/feed").unwrap();
        assert!(g.check_redirect(&public, &other).is_ok());
        let local = Url::parse("http://127.0.0.1:8080/a").unwrap();
        let local2 = Url::parse("http://127.0.0.1:8080/b").unwrap();
        assert!(g.check_redirect(&local, &local2).is_ok());
        assert!(g.check_redirect(&local, &public).is_ok());
        // Switched off: anything goes.
        let open = Guard::default();
        assert!(open
            .check_redirect(&public, &Url::parse("http://127.0.0.1/").unwrap())
            .is_ok());
    }

    #[test]
    fn dns_answers_for_public_names_must_be_public() {
        let g = guard();
        let lo = SocketAddr::from(([127, 0, 0, 1], 0));
        let meta = SocketAddr::from(([169, 254, 169, 254], 0));
        let public = SocketAddr::from(([93, 184, 215, 14], 0));
        assert!(g.filter_answer("evil.example.com", vec![lo]).is_err());
        assert!(g.filter_answer("evil.example.com", vec![meta]).is_err());
        // A mixed answer keeps only the public addresses.
        assert_eq!(
            g.filter_answer("mixed.example.com", vec![lo, public])
                .unwrap(),
            vec![public]
        );
        // Private-by-definition names and listed names may resolve anywhere.
        assert!(g.filter_answer("localhost", vec![lo]).is_ok());
        assert!(g.filter_answer("intranet", vec![lo]).is_ok());
        assert!(g.filter_answer("FEEDS.corp.example.", vec![lo]).is_ok());
    }
}
