//! The walkthrough: each step prints what it does, the exact `llmauth` command line, and
//! what came back, and checks it — any surprise stops the demo with a non-zero exit.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use llmauth_core::time::UnixTime;
use llmauth_tests::ca::TestCa;
use llmauth_tests::gateway::{GatewayOptions, TestGateway};
use llmauth_tests::idp::{GrantType, IdpOptions, TestIdp};
use llmauth_tests::jwt::decode_unverified;
use serde_json::{Value, json};

use super::llmauth_runner::{Llmauth, Ran};

/// Access tokens live this long, so that step 6 sees one reach its refresh margin within
/// a few seconds.
const TOKEN_LIFETIME: Duration = Duration::from_secs(8);

/// Step 6 waits until the token has this much left: inside llmauth's margin (half the
/// lifetime, at least 5 s) even if llmauth's recorded expiry is a second later than the
/// JWT's whole-second `exp`.
const LEFT_WHEN_ASKING_AGAIN: Duration = Duration::from_millis(3500);

/// Characters of a token shown: enough to recognise it, too few to use it.
const SHOWN_TOKEN_CHARS: usize = 16;

/// Which step went wrong, and how.
pub(crate) struct StepFailure {
    place: String,
    reason: String,
}

impl fmt::Display for StepFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "at {}: {}", self.place, self.reason)
    }
}

/// Prints the step's heading and runs it, labelling its failure.
fn step<T>(
    number: usize,
    title: &'static str,
    body: impl FnOnce() -> Result<T, String>,
) -> Result<T, StepFailure> {
    println!("\n{number}. {title}");
    body().map_err(|reason| StepFailure {
        place: format!("step {number} ({title})"),
        reason,
    })
}

/// Everything the demo runs against. Dropping it stops the servers and removes the
/// sandbox directory.
struct World {
    ca: Arc<TestCa>,
    idp: TestIdp,
    gateway: TestGateway,
    llmauth: Llmauth,
    ca_file: PathBuf,
}

/// Runs every step.
pub(crate) fn run() -> Result<(), StepFailure> {
    println!(
        "llmauth demo: the real llmauth command line against a loopback OpenID Provider and \
         LLM gateway.\nEverything runs on 127.0.0.1 in a throw-away directory; nothing of yours \
         is read or changed."
    );
    let world = step(1, "Start a test OpenID Provider and an LLM gateway", start)?;
    let sandbox = world.llmauth.root().to_owned();

    step(2, "Configure llmauth", || configure(&world))?;
    step(3, "Sign in (a scripted browser plays the user)", || {
        login(&world)
    })?;
    let token = step(
        4,
        "Get an access token, as a tool's key helper does",
        || first_token(&world),
    )?;
    step(5, "Call the gateway with it", || {
        call_gateway(&world, &token)
    })?;
    step(
        6,
        "Let the token reach its refresh margin and ask again",
        || refreshed_token(&world, &token),
    )?;
    step(7, "Check the status", || status(&world))?;
    step(
        8,
        "Run the localhost proxy, for tools that only take a static key",
        || proxy(&world),
    )?;
    step(9, "Sign out, revoking the session at the IdP", || {
        logout(&world)
    })?;

    drop(world);
    if sandbox.exists() {
        return Err(StepFailure {
            place: "clean-up".to_owned(),
            reason: format!("{} is still there", sandbox.display()),
        });
    }
    println!(
        "\nStopped the IdP and the gateway; removed {}.",
        sandbox.display()
    );
    Ok(())
}

fn start() -> Result<World, String> {
    let exe = std::env::current_exe().map_err(|e| format!("cannot find this program: {e}"))?;
    let ca = Arc::new(TestCa::try_new().map_err(|e| format!("cannot make a test CA: {e}"))?);
    let idp = TestIdp::try_start(
        IdpOptions {
            access_token_lifetime: TOKEN_LIFETIME,
            ..IdpOptions::default()
        },
        Arc::clone(&ca),
    )
    .map_err(|e| format!("the IdP did not start: {e}"))?;
    let gateway = TestGateway::try_start(GatewayOptions::for_idp(&idp), Arc::clone(&ca))
        .map_err(|e| format!("the gateway did not start: {e}"))?;
    let mut llmauth = Llmauth::new(&exe)?;
    let ca_file = ca
        .write_ca_pem(llmauth.root())
        .map_err(|e| format!("cannot write the CA file: {e}"))?;
    llmauth.trust_ca_in_browser(&ca_file);
    println!(
        "  OpenID Provider: {}  (client id {}, access tokens live {} s)",
        idp.issuer(),
        idp.client_id(),
        TOKEN_LIFETIME.as_secs()
    );
    println!(
        "  LLM gateway:     {}  (checks every bearer JWT against the IdP's keys)",
        gateway.url()
    );
    println!(
        "  sandbox:         {}  (config, state and the test CA; removed at the end)",
        llmauth.root().display()
    );
    Ok(World {
        ca,
        idp,
        gateway,
        llmauth,
        ca_file,
    })
}

fn configure(world: &World) -> Result<(), String> {
    let gateway = world.gateway.url();
    let ca_file = world.ca_file.to_string_lossy();
    let ran = world.llmauth.run(&[
        "config",
        "set",
        "--gateway-url",
        &gateway,
        "--issuer",
        world.idp.issuer(),
        "--client-id",
        world.idp.client_id(),
        "--ca-file",
        &ca_file,
        "--callback-port",
        "0",
        "--secrets-backend",
        "file",
    ])?;
    expect_exit(&ran, 0, true)?;
    if !world.llmauth.config_file().is_file() {
        return Err("no config file was written".to_owned());
    }
    Ok(())
}

fn login(world: &World) -> Result<(), String> {
    println!(
        "  ($BROWSER is this demo as a scripted browser: it follows the IdP's pages to llmauth's callback)"
    );
    let ran = world.llmauth.run(&["login"])?;
    let shown = expect_exit(&ran, 0, true);
    for line in world.llmauth.browser_log() {
        println!("  The scripted browser {line}.");
    }
    shown?;
    let exchanges = world.idp.token_requests(GrantType::AuthorizationCode);
    if exchanges != 1 {
        return Err(format!(
            "expected one code exchange at the IdP, saw {exchanges}"
        ));
    }
    println!("  The IdP saw one authorization-code exchange (with PKCE).");
    Ok(())
}

fn first_token(world: &World) -> Result<String, String> {
    let refreshes = world.idp.token_requests(GrantType::RefreshToken);
    let ran = world.llmauth.run(&["token"])?;
    expect_exit(&ran, 0, false)?;
    let token = printed_token(&ran)?;
    let exp = expiry(&token)?;
    println!(
        "  stdout: {}  (expires {}, in {} s)",
        abbreviate(&token),
        UnixTime::from_secs(exp).to_rfc3339(),
        exp.saturating_sub(unix_now().as_secs())
    );
    if world.idp.token_requests(GrantType::RefreshToken) == refreshes {
        println!("  Served from llmauth's cache: no request to the IdP.");
    } else {
        println!(
            "  (This machine is slow: the token was already inside its refresh margin and was refreshed.)"
        );
    }
    Ok(token)
}

fn call_gateway(world: &World, token: &str) -> Result<(), String> {
    let url = format!("{}/v1/messages", world.gateway.url());
    let body = json!({
        "model": "test-model-1",
        "max_tokens": 64,
        "messages": [{"role": "user", "content": "Say hello"}],
    });
    println!(
        "  POST {url}\n    Authorization: Bearer {}\n    {body}",
        abbreviate(token)
    );
    let mut response = world
        .ca
        .agent()
        .post(&url)
        .header("authorization", &format!("Bearer {token}"))
        .header("anthropic-version", "2023-06-01")
        .header("content-type", "application/json")
        .send(body.to_string())
        .map_err(|e| format!("the gateway could not be reached: {e}"))?;
    let status = response.status().as_u16();
    let text = response
        .body_mut()
        .read_to_string()
        .map_err(|e| format!("cannot read the gateway's answer: {e}"))?;
    if status != 200 {
        return Err(format!("the gateway answered {status}: {text}"));
    }
    let answer: Value = serde_json::from_str(&text)
        .map_err(|e| format!("the gateway's answer is not JSON: {e}"))?;
    let said = answer["content"][0]["text"].as_str().unwrap_or_default();
    println!("  → {status} OK, the model says: {said:?}");
    Ok(())
}

fn refreshed_token(world: &World, old: &str) -> Result<(), String> {
    let exp = expiry(old)?;
    let ask_at = UNIX_EPOCH + Duration::from_secs(exp) - LEFT_WHEN_ASKING_AGAIN;
    let wait = ask_at
        .duration_since(SystemTime::now())
        .unwrap_or(Duration::ZERO);
    println!(
        "  llmauth renews a token once less than half its lifetime (and at least 5 s) is left. Waiting {:.1} s…",
        wait.as_secs_f64()
    );
    std::thread::sleep(wait);
    let refreshes = world.idp.token_requests(GrantType::RefreshToken);
    let refresh_token = world.idp.current_refresh_token();
    let ran = world.llmauth.run(&["token"])?;
    expect_exit(&ran, 0, false)?;
    let token = printed_token(&ran)?;
    let new_exp = expiry(&token)?;
    println!(
        "  stdout: {}  (a new token; expires {})",
        abbreviate(&token),
        UnixTime::from_secs(new_exp).to_rfc3339()
    );
    if token == old {
        return Err("llmauth printed the old token instead of refreshing it".to_owned());
    }
    let made = world.idp.token_requests(GrantType::RefreshToken) - refreshes;
    if made != 1 {
        return Err(format!(
            "expected one refresh request at the IdP, saw {made}"
        ));
    }
    if world.idp.current_refresh_token() == refresh_token {
        return Err("the IdP did not rotate the refresh token".to_owned());
    }
    println!(
        "  The IdP received {made} refresh request (grant_type=refresh_token) and rotated the refresh token."
    );
    call_gateway(world, &token)
}

/// How long the proxy may take to say it is listening.
const PROXY_READY_LIMIT: Duration = Duration::from_secs(15);

fn proxy(world: &World) -> Result<(), String> {
    let ran = world.llmauth.run(&["proxy", "key"])?;
    expect_exit(&ran, 0, false)?;
    let key = printed_token(&ran)?;
    println!(
        "  stdout: {}  (the local key tools present instead of an API key)",
        abbreviate(&key)
    );
    let mut child = world.llmauth.spawn(&["proxy", "start", "--port", "0"])?;
    let result = through_proxy(world, &mut child, &key);
    // Stop it whatever happened.
    let _ = child.kill();
    let _ = child.wait();
    println!("  Stopped the proxy.");
    result
}

fn through_proxy(world: &World, child: &mut std::process::Child, key: &str) -> Result<(), String> {
    use std::io::BufRead as _;
    let stdout = child.stdout.take().ok_or("the proxy has no stdout")?;
    let (lines, ready) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
        {
            if lines.send(line).is_err() {
                break;
            }
        }
    });
    let line = ready
        .recv_timeout(PROXY_READY_LIMIT)
        .map_err(|_| "the proxy did not say it was listening".to_owned())?;
    println!("    {line}");
    let base = line
        .strip_prefix("llmauth proxy listening on ")
        .ok_or_else(|| format!("unexpected first line {line:?}"))?;
    let url = format!("{base}/v1/messages");
    let body = json!({
        "model": "test-model-1",
        "max_tokens": 64,
        "messages": [{"role": "user", "content": "Say hello through the proxy"}],
    });
    println!(
        "  POST {url}\n    x-api-key: {}  (the local key, as a tool would send it)\n    {body}",
        abbreviate(key)
    );
    let mut response = llmauth_tests::client::agent_trusting(&[])
        .post(&url)
        .header("x-api-key", key)
        .header("anthropic-version", "2023-06-01")
        .header("content-type", "application/json")
        .send(body.to_string())
        .map_err(|e| format!("the proxy could not be reached: {e}"))?;
    let status = response.status().as_u16();
    let text = response
        .body_mut()
        .read_to_string()
        .map_err(|e| format!("cannot read the proxy's answer: {e}"))?;
    if status != 200 {
        return Err(format!("the proxy answered {status}: {text}"));
    }
    let answer: Value =
        serde_json::from_str(&text).map_err(|e| format!("the answer is not JSON: {e}"))?;
    let said = answer["content"][0]["text"].as_str().unwrap_or_default();
    println!("  → {status} OK, the model says: {said:?}");
    let seen = world
        .gateway
        .last_request()
        .ok_or("the gateway saw no request")?;
    let bearer = seen
        .bearer_token()
        .ok_or("the gateway saw no bearer token")?;
    if seen.has_header("x-api-key") || bearer == key {
        return Err("the local key reached the gateway".to_owned());
    }
    println!(
        "  The gateway received Authorization: Bearer {} (a fresh OIDC token) and never the local key.",
        abbreviate(bearer)
    );
    Ok(())
}

fn status(world: &World) -> Result<(), String> {
    let ran = world.llmauth.run(&["status"])?;
    expect_exit(&ran, 0, true)
}

fn logout(world: &World) -> Result<(), String> {
    let ran = world.llmauth.run(&["logout", "--revoke"])?;
    expect_exit(&ran, 0, true)?;
    let revoked = world.idp.revoked_tokens().len();
    if revoked != 1 {
        return Err(format!(
            "expected one revocation request at the IdP, saw {revoked}"
        ));
    }
    println!("  The IdP received the revocation request.");
    println!(
        "  A tool asking for a token now is told to sign in (exit 3), without a browser popping up:"
    );
    let ran = world.llmauth.run(&["token", "--non-interactive"])?;
    expect_exit(&ran, 3, true)
}

/// Prints the command's output and exit code, and checks the code.
fn expect_exit(ran: &Ran, code: i32, show_stdout: bool) -> Result<(), String> {
    if show_stdout {
        for line in ran.stdout.lines() {
            println!("    {line}");
        }
    }
    for line in ran.stderr.lines() {
        println!("    (stderr) {line}");
    }
    println!("  → exit {}", ran.code);
    if ran.code == code {
        Ok(())
    } else {
        Err(format!(
            "expected exit {code}, got {}: {}",
            ran.code,
            ran.stderr.trim()
        ))
    }
}

/// The token `llmauth token` printed: one line, nothing else.
fn printed_token(ran: &Ran) -> Result<String, String> {
    match ran.stdout.strip_suffix('\n') {
        Some(token) if !token.is_empty() && !token.contains(char::is_whitespace) => {
            Ok(token.to_owned())
        }
        _ => Err(format!(
            "stdout is not exactly one token line ({} bytes)",
            ran.stdout.len()
        )),
    }
}

/// The JWT's `exp`.
fn expiry(token: &str) -> Result<u64, String> {
    let (_, claims) =
        decode_unverified(token).map_err(|e| format!("the token is not a JWT: {e}"))?;
    claims["exp"]
        .as_u64()
        .ok_or_else(|| "the token has no exp claim".to_owned())
}

/// The first characters of a token and an ellipsis.
fn abbreviate(token: &str) -> String {
    let shown: String = token.chars().take(SHOWN_TOKEN_CHARS).collect();
    format!("{shown}…")
}

fn unix_now() -> UnixTime {
    let millis = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
    UnixTime::from_millis(millis)
}
