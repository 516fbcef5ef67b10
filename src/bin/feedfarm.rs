//! feedfarm: a loopback server of many realistic news feeds, for load tests and benchmarks.
//!
//! `feedfarm --sources 10000` serves `GET /feed/{i}` for `i` in `0..sources`: RSS 2.0, Atom
//! or JSON Feed (in turn by `i`, `--formats`), each with 20–50 items of about 2 KB. A share of the items are
//! copies of a common pool of wire stories (another dateline and headline per outlet, some
//! trimmed), the rest are the source's own. Every `--new-every` each feed gains a new item at
//! the top (the oldest drops off); `ETag` and `Last-Modified` follow that, and a matching
//! `If-None-Match`/`If-Modified-Since` gets a 304, except from the share of sources that send
//! no validators (`--no-validators`: the whole feed every time). A share of sources misbehave
//! (`--faulty`): slow, 500, 429 with Retry-After, or malformed XML.
//!
//! Content is a pure function of (seed, source, item), generated on request: no memory grows
//! with the number of sources, and every run serves the same feeds.
//!
//! Also: `GET /urls` (one feed URL per line, for newsboat), `GET /stats` (the farm's own
//! counters), and `feedfarm --self-bench` (how fast it generates feeds, to show it is never
//! the bottleneck).

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use clap::Parser;

/// Command line.
#[derive(Debug, Clone, Parser)]
#[command(about = "Serve many realistic news feeds on loopback")]
struct Args {
    /// Address to listen on (port 0: any free port; the bound address is printed).
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: SocketAddr,
    /// Number of feeds.
    #[arg(long, default_value_t = 10_000)]
    sources: u64,
    /// Fewest items per feed.
    #[arg(long, default_value_t = 20)]
    items_min: u64,
    /// Most items per feed.
    #[arg(long, default_value_t = 50)]
    items_max: u64,
    /// Approximate bytes of text per item.
    #[arg(long, default_value_t = 2000)]
    item_bytes: usize,
    /// Share of items that are copies of a pool wire story (0 to 1).
    #[arg(long, default_value_t = 0.3)]
    wire_share: f64,
    /// Seconds between new items in each feed (0: feeds never change).
    #[arg(long, default_value_t = 0)]
    new_every: u64,
    /// Share of sources that misbehave (0 to 1): slow, 500, 429 or malformed, in equal parts.
    #[arg(long, default_value_t = 0.0)]
    faulty: f64,
    /// Share of sources (0 to 1) that send neither `ETag` nor `Last-Modified` and answer every
    /// request with the whole feed, as many real servers do.
    #[arg(long, default_value_t = 0.0)]
    no_validators: f64,
    /// Seconds a slow source waits before answering.
    #[arg(long, default_value_t = 3)]
    slow_secs: u64,
    /// RSS `<ttl>` in minutes to announce (none by default: a ttl lengthens the readers'
    /// polling interval, which a load test usually does not want).
    #[arg(long)]
    ttl: Option<u32>,
    /// Seed of all generated content.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Generate every feed once, print the throughput, and exit.
    #[arg(long)]
    self_bench: bool,
    /// Feed formats served, in turn by source number: any of rss, atom, json.
    #[arg(long, value_delimiter = ',', default_value = "rss,atom,json")]
    formats: Vec<Format>,
    /// Render every feed once at start and serve the copies while the feeds do not change
    /// (about 75 KB per feed in memory), so generation costs nothing during a measurement.
    #[arg(long)]
    prerender: bool,
}

/// A feed format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Format {
    Rss,
    Atom,
    Json,
}

#[derive(Default)]
struct Counters {
    requests: AtomicU64,
    not_modified: AtomicU64,
    bytes: AtomicU64,
    faults: AtomicU64,
}

struct Farm {
    args: Args,
    started: Instant,
    epoch0: u64,
    counters: Counters,
    /// Epoch-0 bodies rendered at start (`--prerender`).
    prerendered: Vec<(axum::body::Bytes, &'static str)>,
}

/// SplitMix64: a fast, well-mixed step for deterministic content.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Rng(mix(seed))
    }
    fn next(&mut self) -> u64 {
        self.0 = mix(self.0);
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

const SYLLABLES: &[&str] = &[
    "ka", "ro", "mi", "ten", "sa", "lo", "ver", "an", "de", "tor", "el", "mar", "is", "on", "pre",
    "ul", "ba", "ste", "nor", "vi", "ga", "lin", "ces", "do", "ra", "pol", "ex", "tu", "men", "ha",
];
const PLACES: &[&str] = &[
    "VALMORA",
    "BRENN",
    "ORVIN",
    "CASTELNAU",
    "TARNOV",
    "LINDHOLM",
    "MARESCA",
    "KORVATH",
];
const AGENCIES: &[&str] = &["Reuters", "AP", "AFP", "Xinhua", "Trend"];
const MONTHS: &[&str] = &["Jan", "Feb", "March", "April", "May", "June"];

/// A pseudo-word: Zipf-ish, so texts share common words like real prose does.
fn word(rng: &mut Rng, out: &mut String) {
    let common = rng.below(4) == 0;
    let n = if common { 1 } else { 2 + rng.below(2) };
    for _ in 0..n {
        let pick = if common {
            rng.below(6)
        } else {
            rng.below(SYLLABLES.len() as u64)
        };
        out.push_str(SYLLABLES[pick as usize]);
    }
}

/// Paragraphs of text, about `bytes` long, from `seed`.
fn text(seed: u64, bytes: usize) -> Vec<String> {
    let mut rng = Rng::new(seed);
    let mut paras = Vec::new();
    let mut total = 0;
    while total < bytes {
        let mut p = String::with_capacity(400);
        let words = 40 + rng.below(30);
        for i in 0..words {
            if i > 0 {
                p.push(' ');
            }
            word(&mut rng, &mut p);
            if rng.below(12) == 0 {
                let _ = write!(p, " {}", rng.below(10_000));
            }
            if i + 1 == words || rng.below(14) == 0 {
                p.push('.');
            }
        }
        if let Some(first) = p.get(0..1) {
            let up = first.to_uppercase();
            p.replace_range(0..1, &up);
        }
        total += p.len();
        paras.push(p);
    }
    paras
}

fn title(seed: u64) -> String {
    let mut rng = Rng::new(seed ^ 0x7717);
    let mut t = String::new();
    for i in 0..(5 + rng.below(5)) {
        if i > 0 {
            t.push(' ');
        }
        word(&mut rng, &mut t);
    }
    if let Some(first) = t.get(0..1) {
        let up = first.to_uppercase();
        t.replace_range(0..1, &up);
    }
    t
}

struct Item {
    guid: String,
    link: String,
    title: String,
    paragraphs: Vec<String>,
    published: u64,
}

impl Farm {
    fn epoch(&self) -> u64 {
        match self.args.new_every {
            0 => 0,
            n => self.started.elapsed().as_secs() / n,
        }
    }

    fn items_in(&self, source: u64) -> u64 {
        let span = self.args.items_max.saturating_sub(self.args.items_min) + 1;
        self.args.items_min + mix(self.args.seed ^ source) % span
    }

    /// Item number `n` of `source` (items are numbered from the feed's start; higher = newer).
    fn item(&self, source: u64, n: u64) -> Item {
        let seed = self.args.seed;
        let h = mix(seed ^ source.wrapping_mul(0x1000_0001) ^ n.wrapping_mul(0x9E37));
        let published = self.epoch0 + n * self.args.new_every.max(60);
        let is_wire = (h % 1000) as f64 / 1000.0 < self.args.wire_share;
        if is_wire {
            // Ten pool stories per item slot, each carried by many sources.
            let story = (n % 1_000_000) * 10 + (h >> 20) % 10;
            let mut paragraphs = text(mix(seed ^ 0xA11CE ^ story), self.args.item_bytes);
            let place = PLACES[(story % PLACES.len() as u64) as usize];
            let agency = AGENCIES[(source % AGENCIES.len() as u64) as usize];
            let month = MONTHS[(story % MONTHS.len() as u64) as usize];
            let dateline = match source % 3 {
                0 => format!("{place}, {month} {} ({agency}) - ", 1 + story % 28),
                1 => format!("{place} ({agency}) — "),
                _ => format!("{place}, {month} {}. ", 1 + story % 28),
            };
            if let Some(first) = paragraphs.first_mut() {
                first.insert_str(0, &dateline);
            }
            if source % 4 == 0 && paragraphs.len() > 3 {
                paragraphs.pop();
            }
            if source % 5 == 0 {
                paragraphs.push("Follow us on social media for more news.".into());
            }
            let mut t = title(mix(seed ^ story));
            if source % 2 == 0 {
                let _ = write!(t, " - Outlet {source}");
            }
            Item {
                guid: format!("farm-{source}-{n}"),
                link: format!("http://outlet{source}.farm.test/news/{n}?utm_source=rss"),
                title: t,
                paragraphs,
                published,
            }
        } else {
            Item {
                guid: format!("farm-{source}-{n}"),
                link: format!("http://outlet{source}.farm.test/news/{n}"),
                title: title(h),
                paragraphs: text(h, self.args.item_bytes),
                published,
            }
        }
    }

    /// The items of `source` at `epoch`, newest first.
    fn items(&self, source: u64, epoch: u64) -> Vec<Item> {
        let k = self.items_in(source);
        let newest = k + epoch;
        (0..k).map(|i| self.item(source, newest - 1 - i)).collect()
    }

    fn render(&self, source: u64, epoch: u64) -> (String, &'static str) {
        let items = self.items(source, epoch);
        let formats = &self.args.formats;
        let format = formats
            .get((source % formats.len().max(1) as u64) as usize)
            .copied()
            .unwrap_or(Format::Rss);
        match format {
            Format::Rss => (
                rss(source, &items, self.args.ttl),
                "application/rss+xml; charset=utf-8",
            ),
            Format::Atom => (atom(source, &items), "application/atom+xml; charset=utf-8"),
            Format::Json => (json_feed(source, &items), "application/feed+json"),
        }
    }
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn http_date(unix: u64) -> String {
    chrono::DateTime::<chrono::Utc>::from_timestamp(unix as i64, 0)
        .unwrap_or_default()
        .format("%a, %d %b %Y %H:%M:%S GMT")
        .to_string()
}

fn rfc3339(unix: u64) -> String {
    chrono::DateTime::<chrono::Utc>::from_timestamp(unix as i64, 0)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

fn html_body(item: &Item) -> String {
    let mut b = String::new();
    for p in &item.paragraphs {
        let _ = write!(b, "<p>{p}</p>");
    }
    b
}

fn rss(source: u64, items: &[Item], ttl: Option<u32>) -> String {
    let mut s = String::with_capacity(items.len() * 2300);
    let ttl = ttl.map(|m| format!("<ttl>{m}</ttl>")).unwrap_or_default();
    let _ = writeln!(
        s,
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<rss version=\"2.0\"><channel><title>Farm outlet {source}</title>\
<link>http://outlet{source}.farm.test/</link><description>feedfarm</description>{ttl}"
    );
    for it in items {
        let _ = writeln!(
            s,
            "<item><guid isPermaLink=\"false\">{}</guid><title>{}</title><link>{}</link><pubDate>{}</pubDate>\
<description>{}</description></item>",
            it.guid,
            esc(&it.title),
            esc(&it.link),
            http_date(it.published),
            esc(&html_body(it))
        );
    }
    s.push_str("</channel></rss>\n");
    s
}

fn atom(source: u64, items: &[Item]) -> String {
    let mut s = String::with_capacity(items.len() * 2300);
    let updated = items.first().map_or(0, |i| i.published);
    let _ = write!(
        s,
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<feed xmlns=\"http://www.w3.org/2005/Atom\"><title>Farm outlet {source}</title>\
<id>urn:farm:{source}</id><updated>{}</updated><link href=\"http://outlet{source}.farm.test/\"/>\n",
        rfc3339(updated)
    );
    for it in items {
        let _ = writeln!(
            s,
            "<entry><id>urn:{}</id><title>{}</title><link href=\"{}\"/><updated>{}</updated>\
<content type=\"html\">{}</content></entry>",
            it.guid,
            esc(&it.title),
            esc(&it.link),
            rfc3339(it.published),
            esc(&html_body(it))
        );
    }
    s.push_str("</feed>\n");
    s
}

fn json_feed(source: u64, items: &[Item]) -> String {
    let items: Vec<serde_json::Value> = items
        .iter()
        .map(|it| {
            serde_json::json!({
                "id": it.guid,
                "url": it.link,
                "title": it.title,
                "content_html": html_body(it),
                "date_published": rfc3339(it.published),
            })
        })
        .collect();
    serde_json::json!({
        "version": "https://jsonfeed.org/version/1.1",
        "title": format!("Farm outlet {source}"),
        "home_page_url": format!("http://outlet{source}.farm.test/"),
        "items": items,
    })
    .to_string()
}

#[derive(Clone, Copy)]
enum Fault {
    Slow,
    ServerError,
    RateLimited,
    Malformed,
}

impl Farm {
    fn fault(&self, source: u64) -> Option<Fault> {
        let h = mix(self.args.seed ^ 0xFA17 ^ source);
        if (h % 10_000) as f64 / 10_000.0 >= self.args.faulty {
            return None;
        }
        Some(match (h >> 32) % 4 {
            0 => Fault::Slow,
            1 => Fault::ServerError,
            2 => Fault::RateLimited,
            _ => Fault::Malformed,
        })
    }

    /// Whether `source` is one of the `--no-validators` share.
    fn without_validators(&self, source: u64) -> bool {
        let h = mix(self.args.seed ^ 0x7A11_D000 ^ source);
        ((h % 10_000) as f64 / 10_000.0) < self.args.no_validators
    }
}

async fn feed(
    State(farm): State<Arc<Farm>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    farm.counters.requests.fetch_add(1, Ordering::Relaxed);
    let Some(source) = id
        .trim_end_matches(".xml")
        .parse::<u64>()
        .ok()
        .filter(|s| *s < farm.args.sources)
    else {
        return StatusCode::NOT_FOUND.into_response();
    };
    match farm.fault(source) {
        Some(Fault::ServerError) => {
            farm.counters.faults.fetch_add(1, Ordering::Relaxed);
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        }
        Some(Fault::RateLimited) => {
            farm.counters.faults.fetch_add(1, Ordering::Relaxed);
            return (
                StatusCode::TOO_MANY_REQUESTS,
                [(header::RETRY_AFTER, "120")],
            )
                .into_response();
        }
        Some(Fault::Slow) => {
            farm.counters.faults.fetch_add(1, Ordering::Relaxed);
            tokio::time::sleep(Duration::from_secs(farm.args.slow_secs)).await;
        }
        _ => {}
    }
    let epoch = farm.epoch();
    let etag = format!("\"{source}-{epoch}\"");
    let modified = http_date(farm.epoch0 + epoch * farm.args.new_every);
    let inm = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok());
    let ims = headers
        .get(header::IF_MODIFIED_SINCE)
        .and_then(|v| v.to_str().ok());
    let validators = !farm.without_validators(source);
    if validators
        && (inm == Some(etag.as_str()) || (inm.is_none() && ims == Some(modified.as_str())))
    {
        farm.counters.not_modified.fetch_add(1, Ordering::Relaxed);
        return (StatusCode::NOT_MODIFIED, [(header::ETAG, etag)]).into_response();
    }
    let (mut body, ct) = match farm.prerendered.get(source as usize) {
        Some((b, ct)) if epoch == 0 => (b.clone(), *ct),
        _ => {
            let f = farm.clone();
            let Ok((body, ct)) = tokio::task::spawn_blocking(move || f.render(source, epoch)).await
            else {
                return StatusCode::INTERNAL_SERVER_ERROR.into_response();
            };
            (axum::body::Bytes::from(body), ct)
        }
    };
    if let Some(Fault::Malformed) = farm.fault(source) {
        body.truncate(body.len() / 2);
    }
    farm.counters
        .bytes
        .fetch_add(body.len() as u64, Ordering::Relaxed);
    if !validators {
        return ([(header::CONTENT_TYPE, ct.to_owned())], body).into_response();
    }
    (
        [
            (header::CONTENT_TYPE, ct.to_owned()),
            (header::ETAG, etag),
            (header::LAST_MODIFIED, modified),
        ],
        body,
    )
        .into_response()
}

async fn urls(State(farm): State<Arc<Farm>>, headers: HeaderMap) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("127.0.0.1")
        .to_owned();
    let mut s = String::new();
    for i in 0..farm.args.sources {
        let _ = writeln!(s, "http://{host}/feed/{i}");
    }
    s
}

async fn stats(State(farm): State<Arc<Farm>>) -> axum::Json<serde_json::Value> {
    let c = &farm.counters;
    let secs = farm.started.elapsed().as_secs_f64();
    let requests = c.requests.load(Ordering::Relaxed);
    axum::Json(serde_json::json!({
        "sources": farm.args.sources,
        "uptime_s": secs,
        "requests": requests,
        "not_modified": c.not_modified.load(Ordering::Relaxed),
        "faults": c.faults.load(Ordering::Relaxed),
        "bytes": c.bytes.load(Ordering::Relaxed),
        "requests_per_s": requests as f64 / secs.max(1e-9),
    }))
}

fn self_bench(farm: &Farm) {
    let start = Instant::now();
    let (mut bytes, mut items) = (0usize, 0u64);
    for s in 0..farm.args.sources {
        let (body, _) = farm.render(s, 0);
        bytes += body.len();
        items += farm.items_in(s);
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "feedfarm self-bench: {} feeds, {} items, {:.1} MB in {:.2} s on one core: {:.0} feeds/s, {:.0} items/s, {:.0} MB/s",
        farm.args.sources,
        items,
        bytes as f64 / 1e6,
        secs,
        farm.args.sources as f64 / secs,
        items as f64 / secs,
        bytes as f64 / 1e6 / secs
    );
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let epoch0 = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
        .saturating_sub(86_400);
    let mut farm = Farm {
        args: args.clone(),
        started: Instant::now(),
        epoch0,
        counters: Counters::default(),
        prerendered: Vec::new(),
    };
    if args.self_bench {
        self_bench(&farm);
        return Ok(());
    }
    if args.prerender {
        farm.prerendered = (0..args.sources)
            .map(|s| {
                let (body, ct) = farm.render(s, 0);
                (axum::body::Bytes::from(body), ct)
            })
            .collect();
    }
    let farm = Arc::new(farm);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let app = Router::new()
            .route("/feed/{id}", get(feed))
            .route("/urls", get(urls))
            .route("/stats", get(stats))
            .with_state(farm);
        let listener = tokio::net::TcpListener::bind(args.listen).await?;
        println!("feedfarm listening on {}", listener.local_addr()?);
        axum::serve(listener, app)
            .with_graceful_shutdown(async {
                let _ = tokio::signal::ctrl_c().await;
            })
            .await?;
        anyhow::Ok(())
    })
}
