//! A small W3C WebDriver client for the browser tests: it starts Debian's `chromedriver` on a
//! free port, opens a headless Chromium session with a fresh profile, and speaks the JSON
//! protocol with `reqwest`. Waiting is always polling a condition with a bounded timeout.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, LazyLock};
use std::time::{Duration, Instant};

use base64::Engine;
use serde_json::{Value, json};

use crate::helpers::{PASSWORD, TestApp, temp_dir};

const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";
/// How long a wait may take before the test fails (a page needs far less; a loaded 2-core
/// machine shared with other builds sometimes needs more than a second or two).
pub const WAIT: Duration = Duration::from_secs(30);

/// At most two browsers at a time: each is a few processes and a few hundred MB.
static BROWSERS: LazyLock<Arc<tokio::sync::Semaphore>> =
    LazyLock::new(|| Arc::new(tokio::sync::Semaphore::new(2)));

fn chromium() -> PathBuf {
    std::env::var_os("GINKGO_CHROMIUM")
        .map(PathBuf::from)
        .unwrap_or_else(|| "/usr/bin/chromium".into())
}

fn chromedriver() -> PathBuf {
    std::env::var_os("GINKGO_CHROMEDRIVER")
        .map(PathBuf::from)
        .unwrap_or_else(|| "/usr/bin/chromedriver".into())
}

/// Whether the browser tests can run. Missing Chromium fails under `CI` and skips (with a note)
/// elsewhere.
pub fn browser_available(test: &str) -> bool {
    let ok = chromium().exists() && chromedriver().exists();
    if !ok {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI is set but Chromium/ChromeDriver are missing ({} / {}); install chromium and chromium-driver",
            chromium().display(),
            chromedriver().display()
        );
        eprintln!(
            "note: skipping browser test {test}: Chromium/ChromeDriver not installed (apt-get install chromium chromium-driver)"
        );
    }
    ok
}

pub fn screenshot_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target"));
    target.join("screenshots")
}

pub struct Browser {
    http: reqwest::Client,
    driver: String,
    session: String,
    child: Child,
    profile: PathBuf,
    _permit: tokio::sync::OwnedSemaphorePermit,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

impl Browser {
    /// A headless Chromium whose viewport is `width` × `height` CSS pixels.
    pub async fn start(width: u32, height: u32) -> Browser {
        let permit = BROWSERS.clone().acquire_owned().await.expect("semaphore");
        let port = free_port();
        let child = Command::new(chromedriver())
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver");
        let driver = format!("http://127.0.0.1:{port}");
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()
            .expect("client");
        let deadline = Instant::now() + WAIT;
        loop {
            let ready = match http.get(format!("{driver}/status")).send().await {
                Ok(r) => r
                    .json::<Value>()
                    .await
                    .ok()
                    .is_some_and(|v| v["value"]["ready"] == json!(true)),
                Err(_) => false,
            };
            if ready {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "chromedriver did not become ready on port {port}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let profile = temp_dir("chromium-profile");
        let args = vec![
            "--headless=new".to_string(),
            "--no-sandbox".into(),
            "--disable-gpu".into(),
            "--disable-dev-shm-usage".into(),
            "--disable-background-networking".into(),
            "--disable-component-update".into(),
            "--disable-sync".into(),
            "--disable-extensions".into(),
            "--no-first-run".into(),
            "--no-default-browser-check".into(),
            "--hide-scrollbars".into(),
            "--lang=ko-KR".into(),
            format!("--window-size={width},{height}"),
            format!("--user-data-dir={}", profile.display()),
        ];
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": chromium().to_string_lossy(),
                "args": args,
                "prefs": {"intl.accept_languages": "ko-KR,ko"},
            },
            "goog:loggingPrefs": {"browser": "ALL"},
            "timeouts": {"script": 30_000, "pageLoad": 60_000, "implicit": 0},
        }}});
        let r: Value = http
            .post(format!("{driver}/session"))
            .json(&caps)
            .send()
            .await
            .expect("new session")
            .json()
            .await
            .expect("session json");
        let session = r["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no session: {r}"))
            .to_string();
        let b = Browser {
            http,
            driver,
            session,
            child,
            profile,
            _permit: permit,
        };
        // The window size includes no browser chrome in headless mode; make sure of the viewport.
        let inner = b.exec("return window.innerWidth", json!([])).await;
        if inner.as_u64() != Some(u64::from(width)) {
            b.cmd(
                "POST",
                "/window/rect",
                json!({"width": width, "height": height}),
            )
            .await;
        }
        b
    }

    async fn cmd(&self, method: &str, path: &str, body: Value) -> Value {
        let url = format!("{}/session/{}{}", self.driver, self.session, path);
        let req = match method {
            "GET" => self.http.get(url),
            "DELETE" => self.http.delete(url),
            _ => self.http.post(url).json(&body),
        };
        let r = req
            .send()
            .await
            .unwrap_or_else(|e| panic!("webdriver {path}: {e}"));
        r.json::<Value>().await.unwrap_or(Value::Null)
    }

    fn error(v: &Value) -> Option<String> {
        v["value"]["error"]
            .as_str()
            .map(|e| format!("{e}: {}", v["value"]["message"].as_str().unwrap_or("")))
    }

    pub async fn goto(&self, url: &str) {
        let v = self.cmd("POST", "/url", json!({ "url": url })).await;
        if let Some(e) = Self::error(&v) {
            panic!("navigate to {url}: {e}");
        }
    }

    /// Runs a script (a function body; `arguments` are `args`) and answers its return value.
    pub async fn exec(&self, script: &str, args: Value) -> Value {
        let v = self
            .cmd(
                "POST",
                "/execute/sync",
                json!({ "script": script, "args": args }),
            )
            .await;
        if let Some(e) = Self::error(&v) {
            panic!("script failed: {e}\n{script}");
        }
        v["value"].clone()
    }

    /// Runs an async script: the last argument is the callback to call with the result.
    pub async fn exec_async(&self, script: &str, args: Value) -> Value {
        let v = self
            .cmd(
                "POST",
                "/execute/async",
                json!({ "script": script, "args": args }),
            )
            .await;
        if let Some(e) = Self::error(&v) {
            panic!("async script failed: {e}\n{script}");
        }
        v["value"].clone()
    }

    /// Polls until `script` returns something other than null/false/"" and answers it.
    pub async fn wait_js(&self, what: &str, script: &str, args: Value) -> Value {
        let deadline = Instant::now() + WAIT;
        loop {
            let v = self.exec(script, args.clone()).await;
            let done = !(v.is_null() || v == json!(false) || v == json!(""));
            if done {
                return v;
            }
            if Instant::now() > deadline {
                self.screenshot("failure-last").await;
                panic!(
                    "timed out waiting for {what}\nurl: {}\nmain: {}\nbrowser log: {}",
                    self.exec("return location.href", json!([])).await,
                    self.exec("return document.querySelector('main') && document.querySelector('main').innerText", json!([])).await,
                    self.log().await
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Waits for a visible element matching `css` and answers its text.
    pub async fn wait_text(&self, css: &str) -> String {
        let v = self
            .wait_js(
                css,
                "const e = document.querySelector(arguments[0]); \
                 return e && e.getClientRects().length > 0 && e.textContent.trim() !== '' ? e.textContent : null;",
                json!([css]),
            )
            .await;
        v.as_str().unwrap_or_default().to_string()
    }

    /// Waits until the text of `css` satisfies `pred`; answers the text.
    pub async fn wait_text_where(
        &self,
        css: &str,
        what: &str,
        pred: impl Fn(&str) -> bool,
    ) -> String {
        let deadline = Instant::now() + WAIT;
        loop {
            let text = self
                .exec("const e = document.querySelector(arguments[0]); return e ? e.textContent : null;", json!([css]))
                .await;
            if let Some(t) = text.as_str()
                && pred(t)
            {
                return t.to_string();
            }
            if Instant::now() > deadline {
                self.screenshot("failure-last").await;
                panic!(
                    "timed out waiting for {css} to be {what}; it is {text}\nbrowser log: {}",
                    self.log().await
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The text of every element matching `css`, now.
    pub async fn texts(&self, css: &str) -> Vec<String> {
        let v = self
            .exec(
                "return Array.from(document.querySelectorAll(arguments[0]), (e) => e.textContent);",
                json!([css]),
            )
            .await;
        v.as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|x| x.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The WebDriver id of the visible element matching `css`, waiting for it.
    async fn element(&self, css: &str) -> String {
        let deadline = Instant::now() + WAIT;
        loop {
            self.wait_js(
                css,
                "const e = document.querySelector(arguments[0]); return e && e.getClientRects().length > 0;",
                json!([css]),
            )
            .await;
            let v = self
                .cmd(
                    "POST",
                    "/element",
                    json!({"using": "css selector", "value": css}),
                )
                .await;
            if let Some(id) = v["value"][ELEMENT_KEY].as_str() {
                return id.to_string();
            }
            assert!(Instant::now() < deadline, "{css} keeps vanishing: {v}");
        }
    }

    /// Clicks the element matching `css`. The screens re-render; an element replaced between
    /// finding and clicking is found again (within the wait).
    pub async fn click(&self, css: &str) {
        let deadline = Instant::now() + WAIT;
        loop {
            let el = self.element(css).await;
            let v = self
                .cmd("POST", &format!("/element/{el}/click"), json!({}))
                .await;
            match Self::error(&v) {
                None => return,
                Some(e) if Self::transient(&e) && Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                Some(e) => panic!("click {css}: {e}"),
            }
        }
    }

    /// Clears the input matching `css` and types `text` into it.
    pub async fn fill(&self, css: &str, text: &str) {
        let deadline = Instant::now() + WAIT;
        loop {
            let el = self.element(css).await;
            let cleared = self
                .cmd("POST", &format!("/element/{el}/clear"), json!({}))
                .await;
            let v = match Self::error(&cleared) {
                Some(_) => cleared,
                None => {
                    self.cmd(
                        "POST",
                        &format!("/element/{el}/value"),
                        json!({ "text": text }),
                    )
                    .await
                }
            };
            match Self::error(&v) {
                None => return,
                Some(e) if Self::transient(&e) && Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                Some(e) => panic!("type into {css}: {e}"),
            }
        }
    }

    /// Errors that a re-render explains: try again.
    fn transient(e: &str) -> bool {
        e.starts_with("stale element reference")
            || e.starts_with("element click intercepted")
            || e.starts_with("element not interactable")
            || e.starts_with("no such element")
    }

    /// Presses and releases one key (a WebDriver key code such as `\u{E004}` for Tab).
    pub async fn press(&self, key: &str) {
        let actions = json!({"actions": [{"type": "key", "id": "keyboard", "actions": [
            {"type": "keyDown", "value": key}, {"type": "keyUp", "value": key}]}]});
        let v = self.cmd("POST", "/actions", actions).await;
        if let Some(e) = Self::error(&v) {
            panic!("press {key:?}: {e}");
        }
    }

    /// Moves the mouse (a real pointer event, as a person's hand would) onto the first element
    /// matching `css`, `dx` pixels right of its centre.
    pub async fn hover(&self, css: &str, dx: i64) {
        let found = self
            .cmd(
                "POST",
                "/element",
                json!({"using": "css selector", "value": css}),
            )
            .await;
        let key = "element-6066-11e4-a52e-4f735466cecf";
        let id = found["value"][key]
            .as_str()
            .unwrap_or_else(|| panic!("hover: no element {css}: {found}"))
            .to_string();
        let actions = json!({"actions": [{"type": "pointer", "id": "mouse",
            "parameters": {"pointerType": "mouse"},
            "actions": [{"type": "pointerMove", "duration": 0, "origin": {key: id}, "x": dx, "y": 0}]}]});
        let v = self.cmd("POST", "/actions", actions).await;
        if let Some(e) = Self::error(&v) {
            panic!("hover {css}: {e}");
        }
    }

    /// Deletes the cookie `name` visible to the current page.
    pub async fn delete_cookie(&self, name: &str) {
        self.cmd("DELETE", &format!("/cookie/{name}"), Value::Null)
            .await;
    }

    /// The names of the cookies visible to the current page (HttpOnly ones included).
    pub async fn cookie_names(&self) -> Vec<String> {
        let v = self.cmd("GET", "/cookie", Value::Null).await;
        v["value"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|c| c["name"].as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    }

    pub async fn title(&self) -> String {
        self.cmd("GET", "/title", Value::Null).await["value"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// Waits until the document title contains `part`.
    pub async fn wait_title(&self, part: &str) -> String {
        let v = self
            .wait_js(
                &format!("title containing {part}"),
                "return document.title.includes(arguments[0]) ? document.title : null;",
                json!([part]),
            )
            .await;
        v.as_str().unwrap_or_default().to_string()
    }

    /// Saves a PNG of the viewport (full page height) as `target/screenshots/<name>.png`.
    pub async fn screenshot(&self, name: &str) {
        // Make the window as tall as the page so the screenshot shows the whole screen.
        let height = self
            .exec("return Math.min(4000, Math.max(document.documentElement.scrollHeight, window.innerHeight));", json!([]))
            .await
            .as_u64()
            .unwrap_or(900);
        let rect = self.cmd("GET", "/window/rect", Value::Null).await;
        let old_h = rect["value"]["height"].as_u64().unwrap_or(900);
        self.cmd(
            "POST",
            "/window/rect",
            json!({"width": rect["value"]["width"], "height": height}),
        )
        .await;
        let v = self.cmd("GET", "/screenshot", Value::Null).await;
        self.cmd(
            "POST",
            "/window/rect",
            json!({"width": rect["value"]["width"], "height": old_h}),
        )
        .await;
        let Some(b64) = v["value"].as_str() else {
            return;
        };
        let Ok(png) = base64::engine::general_purpose::STANDARD.decode(b64) else {
            return;
        };
        let dir = screenshot_dir();
        if std::fs::create_dir_all(&dir).is_ok() {
            let _ = std::fs::write(dir.join(format!("{name}.png")), png);
        }
    }

    /// The browser console so far (for failure messages).
    pub async fn log(&self) -> String {
        let v = self
            .cmd("POST", "/se/log", json!({"type": "browser"}))
            .await;
        v["value"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|e| format!("[{}] {}", e["level"], e["message"]))
                    .collect::<Vec<_>>()
                    .join("\n")
            })
            .unwrap_or_default()
    }

    /// Horizontal overflow of the page, in CSS pixels (0 when nothing scrolls sideways).
    pub async fn horizontal_overflow(&self) -> i64 {
        self.exec(
            "return Math.max(document.documentElement.scrollWidth, document.body.scrollWidth) - window.innerWidth;",
            json!([]),
        )
        .await
        .as_i64()
        .unwrap_or(i64::MAX)
    }

    /// Logs in through the login page and waits for the asset summary.
    pub async fn login(&self, app: &TestApp, email: &str) {
        self.goto(&app.url("/login")).await;
        self.fill("[data-testid=login-email]", email).await;
        self.fill("[data-testid=login-password]", PASSWORD).await;
        self.click("[data-testid=login-submit]").await;
        self.wait_js("the page after login", "return location.pathname !== '/login' && document.querySelector('main h1') && !document.querySelector('main[aria-busy]');", json!([])).await;
    }

    /// Ends the session (closing Chromium) and stops chromedriver.
    pub async fn quit(mut self) {
        self.cmd("DELETE", "", Value::Null).await;
        self.session.clear();
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if !self.session.is_empty() {
            // A test panicked before quit(): end the session synchronously so Chromium exits.
            let addr = self.driver.trim_start_matches("http://").to_string();
            if let Ok(mut s) = std::net::TcpStream::connect(&addr) {
                let _ = s.set_read_timeout(Some(Duration::from_secs(10)));
                let _ = write!(
                    s,
                    "DELETE /session/{} HTTP/1.1\r\nHost: {addr}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                    self.session
                );
                let mut sink = Vec::new();
                let _ = s.read_to_end(&mut sink);
            }
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}
