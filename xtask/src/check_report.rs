//! `cargo xtask check-report [--page FILE] [--out PNG] [--width PX] [--tiles PX] [--static-only]`:
//! checks the
//! report page `cargo xtask reproduce` wrote, first statically (`reproduce::check_page`: anchors,
//! nothing fetched, every figure file inlined), then in headless Chromium (Debian's package),
//! driven over the DevTools protocol on a pipe: it loads the page, fails on any console error,
//! uncaught exception or error log entry (a resource that did not load), on an `<svg>` or `<img>`
//! that rendered with no size or drew nothing, and on an `href="#..."` whose target is not in the
//! rendered DOM; and it saves a full-page PNG screenshot (`target/reproduce/report.png`).
//!
//! Chromium's stderr is kept in `target/reproduce/chromium.log`: it holds D-Bus and GPU noise
//! on a headless machine, which is why console errors are read from the protocol, not from it.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use serde_json::{json, Value};
use tapegrad_runner::reproduce::{check_page, PAGE};

/// What `cargo xtask check-report --help` prints.
pub const USAGE: &str = "\
usage: cargo xtask check-report [--page FILE] [--out PNG] [--width PX] [--tiles PX] [--static-only]

Checks the report page `cargo xtask reproduce` wrote, statically and then in headless Chromium
(Debian's package, installed with apt-get when missing); exits non-zero on a console error, a
missing figure or a broken link.

options:
  --page FILE     the page to check (default: target/reproduce/index.html)
  --out PNG       where to save the full-page screenshot (default: report.png beside the page)
  --width PX      the browser window's width in pixels (default: 1280)
  --tiles PX      also save the page in pieces PX pixels high (report-01.png, ...)
  --static-only   only the static check, no browser
  -h, --help      this message";

/// Runs the check; `Ok(false)` when the page has problems (`Ok(true)` after printing [`USAGE`]
/// for `--help`).
pub fn check_report(root: &Path, args: Vec<String>) -> Result<bool> {
    let out_dir = root.join("target").join("reproduce");
    let mut page = out_dir.join(PAGE);
    let mut png: Option<PathBuf> = None;
    let mut width: u32 = 1280;
    let mut browser = true;
    let mut tiles: u32 = 0;
    let mut it = args.into_iter();
    while let Some(a) = it.next() {
        let mut value = |name: &str| it.next().with_context(|| format!("{name} needs a value"));
        match a.as_str() {
            "--page" => page = PathBuf::from(value("--page")?),
            "--out" => png = Some(PathBuf::from(value("--out")?)),
            "--width" => {
                width = value("--width")?
                    .parse()
                    .context("--width: expected pixels")?
            }
            "--static-only" => browser = false,
            "--help" | "-h" => {
                println!("{USAGE}");
                return Ok(true);
            }
            "--tiles" => {
                tiles = value("--tiles")?
                    .parse()
                    .context("--tiles: expected pixels")?
            }
            other => bail!(
                "unknown option `{other}` (known: --page FILE, --out PNG, --width PX, --tiles PX, --static-only, --help)"
            ),
        }
    }
    let page = std::path::absolute(&page).unwrap_or(page);
    let dir = page.parent().map(Path::to_path_buf).unwrap_or_default();
    let png = png.unwrap_or_else(|| dir.join("report.png"));
    let html = std::fs::read_to_string(&page).with_context(|| {
        format!(
            "reading {} (run `cargo xtask reproduce` first)",
            page.display()
        )
    })?;

    let mut problems = Vec::new();
    let st = check_page(&html, &dir);
    println!(
        "static: {} ids, {} #links, {} of {} figure files inlined, {} histograms, {} tapes drawn, {} problems",
        st.ids,
        st.links,
        st.figures,
        st.figure_files,
        st.histograms,
        st.tapes,
        st.problems.len()
    );
    if st.figure_files == 0 {
        problems.push(format!(
            "no figure files under {}/figures: run `cargo xtask reproduce` first",
            dir.display()
        ));
    }
    problems.extend(st.problems.iter().map(|p| format!("static: {p}")));

    if browser {
        let chromium = find_or_install_chromium()?;
        let log = dir.join("chromium.log");
        let r = render(&chromium, &page, &png, width, tiles, &log).with_context(|| {
            format!(
                "rendering in {} (its stderr: {})",
                chromium.display(),
                log.display()
            )
        })?;
        println!(
            "chromium: {} svg rendered, {} img, {} #links resolved, {} console messages, page {}x{} px",
            r.svgs, r.imgs, r.links, r.console, width, r.height
        );
        if r.figures != st.figures {
            problems.push(format!(
                "browser: {} figures in the DOM, {} in the file",
                r.figures, st.figures
            ));
        }
        problems.extend(r.problems.iter().map(|p| format!("browser: {p}")));
        println!("screenshot: {}", png.display());
    }
    if problems.is_empty() {
        println!("check-report: ok ({})", page.display());
        Ok(true)
    } else {
        for p in &problems {
            println!("FAIL {p}");
        }
        println!(
            "check-report: {} problems in {}",
            problems.len(),
            page.display()
        );
        Ok(false)
    }
}

fn on_path(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|p| p.join(name))
            .find(|p| p.is_file())
    })
}

fn find_chromium() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("CHROMIUM").map(PathBuf::from) {
        return p.is_file().then_some(p);
    }
    let debian = PathBuf::from("/usr/bin/chromium");
    if debian.is_file() {
        return Some(debian);
    }
    ["chromium", "chromium-browser"]
        .iter()
        .find_map(|n| on_path(n))
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

const HOW: &str =
    "install Debian's package: `sudo apt-get update && sudo apt-get install -y chromium` \
                   (or set CHROMIUM=/path/to/chromium)";

/// Chromium, installed with `apt-get install -y chromium` when missing and we are root.
pub(crate) fn find_or_install_chromium() -> Result<PathBuf> {
    if let Some(p) = find_chromium() {
        return Ok(p);
    }
    if on_path("apt-get").is_none() || !is_root() {
        bail!("chromium is missing; {HOW}");
    }
    let install = || {
        println!("chromium is missing: running `apt-get install -y chromium`");
        Command::new("apt-get")
            .args(["install", "-y", "chromium"])
            .env("DEBIAN_FRONTEND", "noninteractive")
            .status()
            .is_ok_and(|s| s.success())
    };
    if !install() {
        println!("apt-get install failed: running `apt-get update` and trying again");
        let _ = Command::new("apt-get").arg("update").status();
        install();
    }
    find_chromium().with_context(|| format!("chromium is still missing after apt-get; {HOW}"))
}

/// What the browser saw.
struct Rendered {
    problems: Vec<String>,
    svgs: usize,
    figures: usize,
    imgs: usize,
    links: usize,
    console: usize,
    height: u64,
}

/// A DevTools protocol connection over `--remote-debugging-pipe` (fd 3 in, fd 4 out).
pub(crate) struct Cdp {
    child: Child,
    stdin: ChildStdin,
    rx: Receiver<Value>,
    next: u64,
    events: Vec<Value>,
}

impl Cdp {
    fn start(chromium: &Path, width: u32, log: &Path, profile: &Path) -> Result<Cdp> {
        let log =
            std::fs::File::create(log).with_context(|| format!("creating {}", log.display()))?;
        let mut flags = vec![
            "--headless=new".to_string(),
            "--remote-debugging-pipe".into(),
            "--disable-gpu".into(),
            "--hide-scrollbars".into(),
            "--no-first-run".into(),
            "--no-default-browser-check".into(),
            "--disable-extensions".into(),
            "--mute-audio".into(),
            format!("--user-data-dir={}", profile.display()),
            format!("--window-size={width},900"),
        ];
        if is_root() {
            flags.push("--no-sandbox".into());
        }
        flags.push("about:blank".into());
        // The shell hands our stdin pipe to Chromium as fd 3 and our stdout pipe as fd 4.
        let mut child = Command::new("sh")
            .arg("-c")
            .arg("exec \"$0\" \"$@\" 3<&0 4>&1 1>&2 0</dev/null")
            .arg(chromium)
            .args(&flags)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log))
            .spawn()
            .with_context(|| format!("starting {}", chromium.display()))?;
        let stdin = child.stdin.take().context("no pipe to chromium")?;
        let stdout = child.stdout.take().context("no pipe from chromium")?;
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut r = BufReader::new(stdout);
            let mut buf = Vec::new();
            while r.read_until(0, &mut buf).is_ok_and(|n| n > 0) {
                if buf.last() == Some(&0) {
                    buf.pop();
                }
                if let Ok(v) = serde_json::from_slice::<Value>(&buf) {
                    if tx.send(v).is_err() {
                        break;
                    }
                }
                buf.clear();
            }
        });
        Ok(Cdp {
            child,
            stdin,
            rx,
            next: 0,
            events: Vec::new(),
        })
    }

    fn recv(&mut self, deadline: Instant) -> Result<Value> {
        let left = deadline.saturating_duration_since(Instant::now());
        match self.rx.recv_timeout(left) {
            Ok(v) => Ok(v),
            Err(RecvTimeoutError::Timeout) => bail!("chromium did not answer in time"),
            Err(RecvTimeoutError::Disconnected) => {
                bail!("chromium closed the pipe (did it start?)")
            }
        }
    }

    fn call(&mut self, session: Option<&str>, method: &str, params: Value) -> Result<Value> {
        self.next += 1;
        let id = self.next;
        let mut msg = json!({"id": id, "method": method, "params": params});
        if let Some(s) = session {
            msg["sessionId"] = json!(s);
        }
        let mut bytes = serde_json::to_vec(&msg)?;
        bytes.push(0);
        self.stdin
            .write_all(&bytes)
            .and_then(|_| self.stdin.flush())
            .with_context(|| format!("sending {method}"))?;
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let v = self.recv(deadline).with_context(|| method.to_string())?;
            if v.get("id").and_then(Value::as_u64) == Some(id) {
                if let Some(e) = v.get("error") {
                    bail!("{method}: {e}");
                }
                return Ok(v.get("result").cloned().unwrap_or(Value::Null));
            }
            self.events.push(v);
        }
    }

    /// Waits for the event `method` (keeping every event seen).
    fn wait_event(&mut self, method: &str, timeout: Duration) -> Result<()> {
        if self.events.iter().any(|e| e["method"] == method) {
            return Ok(());
        }
        let deadline = Instant::now() + timeout;
        loop {
            let v = self
                .recv(deadline)
                .with_context(|| format!("waiting for {method}"))?;
            let hit = v["method"] == method;
            self.events.push(v);
            if hit {
                return Ok(());
            }
        }
    }

    /// Starts Chromium with a viewport of `width` × `height` and loads `page` in a new target;
    /// returns the connection and the target's session.
    pub(crate) fn open_page(
        chromium: &Path,
        page: &Path,
        width: u32,
        height: u32,
        log: &Path,
        profile: &Path,
    ) -> Result<(Cdp, String)> {
        let mut cdp = Cdp::start(chromium, width, log, profile)?;
        let target = cdp.call(None, "Target.createTarget", json!({"url": "about:blank"}))?;
        let target_id = target["targetId"]
            .as_str()
            .context("no targetId")?
            .to_string();
        let attached = cdp.call(
            None,
            "Target.attachToTarget",
            json!({"targetId": target_id, "flatten": true}),
        )?;
        let sid = attached["sessionId"]
            .as_str()
            .context("no sessionId")?
            .to_string();
        let s = Some(sid.as_str());
        for m in ["Page.enable", "Runtime.enable", "Log.enable"] {
            cdp.call(s, m, json!({}))?;
        }
        cdp.call(
            s,
            "Emulation.setDeviceMetricsOverride",
            json!({"width": width, "height": height, "deviceScaleFactor": 1, "mobile": false}),
        )?;
        let url = format!("file://{}", page.display());
        let nav = cdp.call(s, "Page.navigate", json!({"url": url}))?;
        if let Some(e) = nav.get("errorText").and_then(Value::as_str) {
            bail!("loading {url}: {e}");
        }
        cdp.wait_event("Page.loadEventFired", Duration::from_secs(60))?;
        cdp.drain(Duration::from_millis(500));
        Ok((cdp, sid))
    }

    /// A PNG of the page's rows `y .. y + height`, `width` wide.
    pub(crate) fn capture(
        &mut self,
        sid: &str,
        y: u64,
        width: u32,
        height: u64,
    ) -> Result<Vec<u8>> {
        let shot = self.call(
            Some(sid),
            "Page.captureScreenshot",
            json!({"format": "png", "captureBeyondViewport": true,
                   "clip": {"x": 0, "y": y, "width": width, "height": height, "scale": 1}}),
        )?;
        let data = shot["data"].as_str().context("no screenshot data")?;
        let bytes = base64_decode(data)?;
        if !bytes.starts_with(b"\x89PNG") {
            bail!("the screenshot is not a PNG");
        }
        Ok(bytes)
    }

    /// Collects the events that arrive within `d`.
    fn drain(&mut self, d: Duration) {
        let deadline = Instant::now() + d;
        while let Ok(v) = self.recv(deadline) {
            self.events.push(v);
        }
    }
}

impl Drop for Cdp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The in-page check, evaluated over the protocol (the page itself holds no script).
const PROBE: &str = r#"(() => {
  const out = {problems: [], svgs: 0, figures: 0, imgs: 0, links: 0,
               height: Math.ceil(Math.max(document.documentElement.scrollHeight, document.body.scrollHeight))};
  for (const s of document.querySelectorAll('svg')) {
    if (s.parentElement && s.parentElement.closest('svg')) continue;
    out.svgs++;
    const name = s.getAttribute('data-file') || s.getAttribute('class') || 'svg';
    const r = s.getBoundingClientRect();
    let bb = {width: 0, height: 0};
    try { bb = s.getBBox(); } catch (e) {}
    if (s.classList.contains('figure')) out.figures++;
    if (!(r.width > 0 && r.height > 0)) out.problems.push('svg ' + name + ' rendered ' + r.width + 'x' + r.height);
    else if (!(bb.width > 0 && bb.height > 0)) out.problems.push('svg ' + name + ' drew nothing');
  }
  for (const i of document.querySelectorAll('img')) {
    out.imgs++;
    if (!(i.complete && i.naturalWidth > 0)) out.problems.push('img ' + i.getAttribute('src') + ' did not load');
  }
  for (const a of document.querySelectorAll('[href]')) {
    const h = a.getAttribute('href');
    if (!h.startsWith('#')) { out.problems.push('link ' + h + ' leaves the page'); continue; }
    out.links++;
    if (!document.getElementById(decodeURIComponent(h.slice(1)))) out.problems.push('broken link ' + h);
  }
  const main = document.querySelector('main');
  if (!main || main.getBoundingClientRect().height < 100) out.problems.push('the page rendered (almost) nothing');
  return out;
})()"#;

fn render(
    chromium: &Path,
    page: &Path,
    png: &Path,
    width: u32,
    tiles: u32,
    log: &Path,
) -> Result<Rendered> {
    let profile =
        std::env::temp_dir().join(format!("tapegrad-check-report-{}", std::process::id()));
    let result = (|| {
        let (mut cdp, sid) = Cdp::open_page(chromium, page, width, 900, log, &profile)?;
        let s = Some(sid.as_str());
        let probe = cdp.call(
            s,
            "Runtime.evaluate",
            json!({"expression": PROBE, "returnByValue": true}),
        )?;
        if let Some(e) = probe.get("exceptionDetails") {
            bail!("the probe failed: {e}");
        }
        let v = &probe["result"]["value"];
        let count = |k: &str| v[k].as_u64().unwrap_or(0) as usize;
        let height = v["height"].as_u64().unwrap_or(900).max(1);
        // Full page: make the viewport the page's height, then capture it.
        cdp.call(
            s,
            "Emulation.setDeviceMetricsOverride",
            json!({"width": width, "height": height, "deviceScaleFactor": 1, "mobile": false}),
        )?;
        cdp.drain(Duration::from_millis(300));
        let bytes = cdp.capture(&sid, 0, width, height)?;
        std::fs::write(png, &bytes).with_context(|| format!("writing {}", png.display()))?;
        // Optionally the same page in tiles of `tiles` pixels (report-01.png, ...), to look at.
        if tiles > 0 {
            let stem = png.with_extension("");
            for (n, y) in (0..height).step_by(tiles as usize).enumerate() {
                let h = (height - y).min(u64::from(tiles));
                let tile = PathBuf::from(format!("{}-{:02}.png", stem.display(), n + 1));
                std::fs::write(&tile, cdp.capture(&sid, y, width, h)?)
                    .with_context(|| format!("writing {}", tile.display()))?;
            }
        }
        let _ = cdp.call(None, "Browser.close", json!({}));

        let mut problems: Vec<String> = v["problems"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect();
        let mut console = 0;
        for e in &cdp.events {
            let p = &e["params"];
            match e["method"].as_str().unwrap_or("") {
                "Runtime.consoleAPICalled" => {
                    console += 1;
                    let kind = p["type"].as_str().unwrap_or("");
                    if kind == "error" || kind == "assert" {
                        let text: Vec<String> = p["args"]
                            .as_array()
                            .into_iter()
                            .flatten()
                            .map(|a| {
                                a["value"]
                                    .as_str()
                                    .map_or(a["description"].to_string(), str::to_string)
                            })
                            .collect();
                        problems.push(format!("console {kind}: {}", text.join(" ")));
                    }
                }
                "Runtime.exceptionThrown" => {
                    console += 1;
                    problems.push(format!(
                        "uncaught exception: {}",
                        p["exceptionDetails"]["exception"]["description"]
                            .as_str()
                            .or(p["exceptionDetails"]["text"].as_str())
                            .unwrap_or("?")
                    ));
                }
                "Log.entryAdded" => {
                    console += 1;
                    let entry = &p["entry"];
                    if entry["level"] == "error" {
                        problems.push(format!(
                            "console error ({}): {} {}",
                            entry["source"].as_str().unwrap_or("?"),
                            entry["text"].as_str().unwrap_or("?"),
                            entry["url"].as_str().unwrap_or("")
                        ));
                    }
                }
                _ => {}
            }
        }
        Ok(Rendered {
            problems,
            svgs: count("svgs"),
            figures: count("figures"),
            imgs: count("imgs"),
            links: count("links"),
            console,
            height,
        })
    })();
    let _ = std::fs::remove_dir_all(&profile);
    result
}

/// Standard base64 (the screenshot's encoding).
fn base64_decode(s: &str) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let mut acc: u32 = 0;
    let mut bits = 0;
    for c in s.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            b'=' | b'\n' | b'\r' => continue,
            other => bail!("not base64: byte {other}"),
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Ok(out)
}
