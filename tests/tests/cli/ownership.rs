//! State another local user could have written is never believed (SPEC §8, issue 9.1):
//! a discovery document planted in `$STATE/discovery/`, a login marker naming someone
//! else's URL, a directory others can write, a session file others can read.
//!
//! Another user is simulated without a second account: the tests run as root here, and
//! root may give a file to another uid (65534, `nobody`), which is what a planted file
//! looks like; a directory others can write is made so with `chmod`. Without root, the
//! planted files are made writable by others instead — the other half of the same rule.

use std::fs;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use llmauth_tests::http_server::{HttpServer, Response, ServerOptions};
use serde_json::json;

use super::common::{World, expect_exit, hold_lock, unix_ms};

/// The uid of the other user: `nobody`.
const OTHER_UID: u32 = 65534;

/// A loopback token endpoint of the other user's: records what it is sent and answers
/// with its own access token.
struct Attacker {
    server: HttpServer,
    bodies: Arc<Mutex<Vec<String>>>,
}

impl Attacker {
    fn start() -> Attacker {
        let bodies = Arc::new(Mutex::new(Vec::new()));
        let seen = Arc::clone(&bodies);
        let server = HttpServer::start(ServerOptions::default(), move |_| {
            Arc::new(move |request| {
                let body = String::from_utf8_lossy(&request.body).into_owned();
                seen.lock().expect("attacker log").push(body);
                Response::json(
                    200,
                    &json!({"access_token": "ATTACKER-TOKEN", "token_type": "Bearer", "expires_in": 300}),
                )
            })
        })
        .expect("start the attacker's server");
        Attacker { server, bodies }
    }

    /// A discovery cache entry for `issuer` whose endpoints are this server's.
    fn planted_discovery(&self, issuer: &str) -> Vec<u8> {
        let base = self.server.base_url();
        let document = json!({
            "fetched_at": unix_ms(),
            "metadata": {
                "issuer": issuer,
                "authorization_endpoint": format!("{base}/auth"),
                "token_endpoint": format!("{base}/token"),
            },
        });
        serde_json::to_vec(&document).expect("planted document")
    }

    fn requests(&self) -> Vec<String> {
        self.bodies.lock().expect("attacker log").clone()
    }
}

fn set_mode(path: &Path, mode: u32) {
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).expect("chmod");
}

fn mode(path: &Path) -> u32 {
    fs::metadata(path).expect("stat").permissions().mode() & 0o7777
}

/// Writes `bytes` to `path` as the other user would have: owned by them when this process
/// may give files away (root), else writable by everyone. Returns which it did.
fn plant(path: &Path, bytes: &[u8]) -> Planted {
    fs::write(path, bytes).expect("plant");
    match std::os::unix::fs::chown(path, Some(OTHER_UID), None) {
        Ok(()) => Planted::OwnedByOther,
        Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => {
            set_mode(path, 0o666);
            Planted::WritableByOthers
        }
        Err(e) => panic!("chown: {e}"),
    }
}

#[derive(Debug, PartialEq, Eq)]
enum Planted {
    OwnedByOther,
    WritableByOthers,
}

/// The one cached discovery document of the session.
fn discovery_file(world: &World) -> PathBuf {
    let dir = world.sandbox.state_dir().join("discovery");
    let mut files: Vec<PathBuf> = fs::read_dir(&dir)
        .expect("discovery cache directory")
        .map(|e| e.expect("entry").path())
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    files.remove(0)
}

#[test]
fn every_directory_llmauth_creates_is_owner_only() {
    let world = World::new();
    world.login();
    let state = world.sandbox.state_dir();
    for dir in [
        state.join("sessions"),
        state.join("locks"),
        state.join("discovery"),
    ] {
        assert_eq!(mode(&dir), 0o700, "{}", dir.display());
    }
}

#[test]
fn a_discovery_document_planted_in_a_directory_others_can_write_is_never_used() {
    let world = World::new();
    world.login_expired();
    let attacker = Attacker::start();
    let file = discovery_file(&world);
    let dir = file.parent().expect("discovery directory").to_path_buf();
    set_mode(&dir, 0o777);
    plant(&file, &attacker.planted_discovery(world.idp.issuer()));

    let finished = world.run(&["token"]);

    assert!(
        attacker.requests().is_empty(),
        "the refresh token went to the other user's server: {:?}",
        attacker.requests()
    );
    expect_exit(&finished, 2, "token with a writable discovery directory");
    assert_eq!(finished.stdout, "");
    let named = format!("{} can be written by other users", dir.display());
    assert!(finished.stderr.contains(&named), "{}", finished.stderr);
    assert!(
        finished
            .stderr
            .contains(&format!("`chmod go-w {}`", dir.display())),
        "{}",
        finished.stderr
    );
    assert_eq!(mode(&dir), 0o777, "nobody else's directory is repaired");
}

#[test]
fn a_discovery_document_another_user_wrote_is_never_used() {
    let world = World::new();
    world.login_expired();
    let attacker = Attacker::start();
    let file = discovery_file(&world);
    let planted = plant(&file, &attacker.planted_discovery(world.idp.issuer()));

    let finished = world.run(&["token"]);

    assert!(
        attacker.requests().is_empty(),
        "the refresh token went to the other user's server: {:?}",
        attacker.requests()
    );
    expect_exit(&finished, 2, "token with a planted discovery document");
    assert!(
        finished.stderr.contains(&file.display().to_string()),
        "{}",
        finished.stderr
    );
    let why = match planted {
        Planted::OwnedByOther => format!("belongs to another user (uid {OTHER_UID})"),
        Planted::WritableByOthers => "can be written by other users".to_owned(),
    };
    assert!(finished.stderr.contains(&why), "{}", finished.stderr);
}

#[test]
fn a_login_marker_another_user_wrote_is_never_shown() {
    let world = World::new();
    world.login_expired();
    // A login in progress elsewhere: the session lock is held...
    let lock = hold_lock(&world);
    // ...and its marker was written by someone else.
    let marker = world.lock_file().with_extension("login");
    let planted = json!({"pid": 1, "url": "https://phish.example/sign-in", "user_code": null});
    plant(&marker, planted.to_string().as_bytes());

    let finished = world.run(&["token", "--non-interactive"]);
    drop(lock);

    assert!(
        !finished.stderr.contains("phish.example"),
        "another user's URL was shown: {}",
        finished.stderr
    );
    expect_exit(&finished, 2, "token with a planted login marker");
    assert!(
        finished.stderr.contains(&marker.display().to_string()),
        "{}",
        finished.stderr
    );
}

#[test]
fn a_state_directory_others_can_write_is_refused_and_left_alone() {
    let world = World::new();
    world.login();
    let sessions = world.sandbox.state_dir().join("sessions");
    set_mode(&sessions, 0o775);

    let finished = world.run(&["token"]);

    expect_exit(
        &finished,
        2,
        "token with a group-writable sessions directory",
    );
    assert_eq!(finished.stdout, "");
    assert!(
        finished
            .stderr
            .contains(&format!("`chmod go-w {}`", sessions.display())),
        "{}",
        finished.stderr
    );
    assert_eq!(mode(&sessions), 0o775, "never repaired silently");

    // The same for a directory a command would write into.
    set_mode(&sessions, 0o700);
    let locks = world.sandbox.state_dir().join("locks");
    set_mode(&locks, 0o777);
    let set = world.run(&["config", "set", "--audience", "https://gw.example"]);
    expect_exit(&set, 2, "config set with a writable locks directory");
    assert!(
        set.stderr
            .contains(&format!("`chmod go-w {}`", locks.display())),
        "{}",
        set.stderr
    );
}

#[test]
fn a_session_file_others_can_read_needs_a_new_sign_in_with_the_fix() {
    let world = World::new();
    world.login_expired();
    let file = world.session_file();
    set_mode(&file, 0o644);

    let finished = world.run(&["token"]);

    expect_exit(&finished, 3, "token with a session file others can read");
    assert_eq!(finished.stdout, "");
    assert!(
        finished
            .stderr
            .contains(&format!("`chmod 600 {}`", file.display())),
        "{}",
        finished.stderr
    );
    let status = world.run(&["status"]);
    expect_exit(&status, 3, "status with a session file others can read");
    assert!(
        status
            .stdout
            .contains(&format!("`chmod 600 {}`", file.display())),
        "{}",
        status.stdout
    );
}
