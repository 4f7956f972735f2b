//! IdP calls and the HTTP proxies of the environment (SPEC §3, issue 9.4): loopback is
//! never proxied, decided on the address the URL names, not on how it is spelled.

use std::io::{BufRead as _, BufReader};
use std::net::TcpListener;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use llmauth_tests::idp::{GrantType, IdpOptions};

use super::common::{World, expect_exit, printed_token};

/// A stand-in HTTP proxy on loopback that records the first line of every connection
/// and then hangs up; stops when dropped.
struct Recorder {
    port: u16,
    seen: Arc<Mutex<Vec<String>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Recorder {
    fn start() -> Recorder {
        let listener = TcpListener::bind(("127.0.0.1", 0)).expect("bind the recorder");
        listener.set_nonblocking(true).expect("non-blocking");
        let port = listener.local_addr().expect("recorder address").port();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (seen, stop) = (Arc::clone(&seen), Arc::clone(&stop));
            std::thread::spawn(move || {
                while !stop.load(Ordering::SeqCst) {
                    let Ok((stream, _)) = listener.accept() else {
                        std::thread::sleep(Duration::from_millis(10));
                        continue;
                    };
                    let _ = stream.set_nonblocking(false);
                    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
                    let mut line = String::new();
                    let _ = BufReader::new(stream).read_line(&mut line);
                    seen.lock()
                        .expect("recorder log")
                        .push(line.trim_end().to_owned());
                }
            })
        };
        Recorder {
            port,
            seen,
            stop,
            thread: Some(thread),
        }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn seen(&self) -> Vec<String> {
        self.seen.lock().expect("recorder log").clone()
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

#[test]
fn a_loopback_issuer_spelled_127_1_never_goes_through_http_proxy() {
    let recorder = Recorder::start();
    let mut world = World::unconfigured(IdpOptions {
        plain_http_host: Some("127.1".to_owned()),
        ..IdpOptions::default()
    });
    assert!(
        world.idp.issuer().starts_with("http://127.1:"),
        "{}",
        world.idp.issuer()
    );
    for name in [
        "HTTP_PROXY",
        "http_proxy",
        "HTTPS_PROXY",
        "https_proxy",
        "ALL_PROXY",
        "all_proxy",
    ] {
        world.sandbox.set_env(name, recorder.url());
    }
    for name in ["NO_PROXY", "no_proxy"] {
        world.sandbox.set_env(name, "");
    }
    world.configure(&["--secrets-backend", "file"]);

    // Discovery, the code exchange and a refresh: all plain http to the issuer, carrying
    // the code, the verifier and the refresh token.
    world.idp.set_access_token_lifetime(Duration::from_secs(1));
    let login = world.run(&["login"]);
    assert_eq!(
        recorder.seen(),
        Vec::<String>::new(),
        "login went through the proxy"
    );
    expect_exit(&login, 0, "login");
    world
        .idp
        .set_access_token_lifetime(Duration::from_secs(300));
    std::thread::sleep(Duration::from_millis(1100));
    let token = world.run(&["token"]);
    assert_eq!(
        recorder.seen(),
        Vec::<String>::new(),
        "the refresh token went through the proxy"
    );
    expect_exit(&token, 0, "token");
    assert_eq!(world.idp.token_requests(GrantType::RefreshToken), 1);
    assert_eq!(
        printed_token(&token),
        world.idp.last_access_token().expect("a token was issued")
    );
}
