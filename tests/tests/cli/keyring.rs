//! The `keyring` and `auto` backends against a real Secret Service (a private
//! gnome-keyring on a private bus), and `auto`'s fallback to the file store (SPEC §4).

use std::os::unix::fs::PermissionsExt as _;

use llmauth_core::provider::Preset;
use llmauth_core::store::ClientKey;
use llmauth_tests::idp::{GOOGLE_CLIENT_SECRET, GrantType, IdpOptions};
use llmauth_tests::keyring_session::SecretService;

use super::common::{World, expect_exit, printed_token, run_with_stdin};
use super::concurrency::fifty_at_expiry_make_one_refresh;

/// The fallback notice's start (SPEC §4: announced once on stderr).
const FALLBACK_NOTICE: &str = "note: no usable OS keychain";

/// A private Secret Service; a missing daemon fails the test (never a skip).
fn secret_service() -> SecretService {
    SecretService::start().unwrap_or_else(|e| panic!("no Secret Service for this test: {e}"))
}

/// A world whose llmauth talks to `service`, configured with `backend`.
fn world_on(service: &SecretService, backend: &str) -> World {
    let mut world = World::unconfigured(IdpOptions::default());
    world
        .sandbox
        .set_env("DBUS_SESSION_BUS_ADDRESS", service.bus_address());
    world.configure(&["--secrets-backend", backend]);
    world
}

fn mode(path: &std::path::Path) -> u32 {
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o777
}

/// The refresh token lives in the keychain only; the access token in a 0600 cache file.
fn assert_keyring_layout(world: &World, service: &SecretService, access_token: &str) {
    let refresh_token = world.idp.current_refresh_token().expect("a refresh token");
    let found = world.sandbox.files_containing(&refresh_token);
    assert!(found.is_empty(), "the refresh token is in files: {found:?}");
    assert!(!world.session_file().exists(), "no file-backend session");
    let cache = world.access_cache_file();
    let cached = std::fs::read_to_string(&cache).expect("the access-token cache");
    assert!(
        cached.contains(access_token),
        "the cache holds the access token"
    );
    assert!(!cached.contains(&refresh_token));
    assert_eq!(mode(&cache), 0o600, "{}", cache.display());
    assert_eq!(mode(cache.parent().expect("cache directory")), 0o700);
    match service.lookup(&[("service", "llmauth"), ("username", &world.session_key())]) {
        Ok(item) => {
            let item = item.expect("a keychain item for the session");
            assert!(
                item.contains(&refresh_token),
                "the keychain item holds the current refresh token"
            );
            assert!(
                !item.contains(access_token),
                "the access token is not in the keychain"
            );
        }
        // Without secret-tool the keychain is still proven below: refreshing with the
        // access-token cache gone can only use the keychain's refresh token.
        Err(e) => eprintln!("note: keychain item not inspected directly: {e}"),
    }
}

#[test]
fn keyring_backend_keeps_the_refresh_token_in_the_keychain() {
    let service = secret_service();
    let world = world_on(&service, "keyring");
    world.login();
    let token = printed_token(&world.run(&["token"]));
    assert_eq!(world.gateway_status(&token), 200);
    assert_keyring_layout(&world, &service, &token);

    // With the cache gone, a refresh must find its refresh token in the keychain, and the
    // rotated one goes back there.
    std::fs::remove_file(world.access_cache_file()).expect("remove the access-token cache");
    let refreshed = printed_token(&world.run(&["token", "--non-interactive"]));
    assert_ne!(refreshed, token);
    assert_eq!(world.idp.token_requests(GrantType::RefreshToken), 1);
    assert_eq!(world.idp.reuse_detections(), 0);
    assert_keyring_layout(&world, &service, &refreshed);

    let status = world.run(&["status", "--format", "json"]);
    expect_exit(&status, 0, "status");
    assert!(
        status.stdout.contains(r#""secrets_backend":"keyring""#),
        "{}",
        status.stdout
    );

    let logout = world.run(&["logout"]);
    expect_exit(&logout, 0, "logout");
    if let Ok(item) = service.lookup(&[("service", "llmauth"), ("username", &world.session_key())])
    {
        assert_eq!(item, None, "logout removes the keychain item");
    }
    assert!(
        !world.access_cache_file().exists(),
        "logout removes the access-token cache"
    );
    let after = world.run(&["token", "--non-interactive"]);
    expect_exit(&after, 3, "token after logout");
}

#[test]
fn auto_backend_records_and_uses_a_working_keychain() {
    let service = secret_service();
    let world = world_on(&service, "auto");
    let login = world.login();
    assert!(!login.stderr.contains(FALLBACK_NOTICE), "{}", login.stderr);
    let recorded =
        std::fs::read_to_string(world.sandbox.state_dir().join("backend")).expect("$STATE/backend");
    assert_eq!(recorded.trim(), "keyring");
    let token = printed_token(&world.run(&["token"]));
    assert_keyring_layout(&world, &service, &token);
    // The probe's throw-away item is gone.
    if let Ok(probe) = service.lookup(&[("service", "llmauth"), ("username", "llmauth-probe")]) {
        assert_eq!(probe, None);
    }
}

#[test]
fn fifty_concurrent_token_calls_with_the_keyring_backend_make_one_refresh() {
    let service = secret_service();
    let world = world_on(&service, "keyring");
    // Waiters find the refreshed token in the access-token cache under the lock and never
    // touch the keychain, so the default 8 s budget holds.
    fifty_at_expiry_make_one_refresh(&world, &[]);
    let token = world.idp.last_access_token().expect("a token");
    assert_keyring_layout(&world, &service, &token);
}

#[test]
fn auto_falls_back_to_the_file_store_without_a_session_bus_and_says_so_once() {
    let mut world = World::unconfigured(IdpOptions::default());
    world
        .sandbox
        .set_env("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent");
    world.configure(&["--secrets-backend", "auto"]);

    let login = world.login();
    let token = world.run(&["token"]);
    let printed = printed_token(&token);
    let status = world.run(&["status"]);
    expect_exit(&status, 0, "status");

    let notices: usize = [&login.stderr, &token.stderr, &status.stderr]
        .iter()
        .map(|s| s.matches(FALLBACK_NOTICE).count())
        .sum();
    assert_eq!(
        notices, 1,
        "the notice appears exactly once: {}",
        login.stderr
    );
    assert!(login.stderr.contains(FALLBACK_NOTICE));
    let recorded =
        std::fs::read_to_string(world.sandbox.state_dir().join("backend")).expect("$STATE/backend");
    assert_eq!(recorded.trim(), "file");
    assert!(
        world.session_file().exists(),
        "the session is in the file store"
    );
    assert_eq!(
        world.stored_refresh_token(),
        world.idp.current_refresh_token().expect("a refresh token")
    );
    assert_eq!(world.gateway_status(&printed), 200);
}

#[test]
fn keyring_backend_without_a_keychain_is_exit_4_naming_it() {
    let mut world = World::unconfigured(IdpOptions::default());
    world
        .sandbox
        .set_env("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent");
    world.configure(&["--secrets-backend", "keyring"]);
    // SPEC §4: a keychain failure is exit 4 with the reason, never a silent switch.
    for args in [
        &["token"][..],
        &["token", "--non-interactive"][..],
        &["login"][..],
    ] {
        let finished = world.run(args);
        expect_exit(&finished, 4, &args.join(" "));
        assert!(
            finished.stderr.contains("keychain"),
            "{args:?}: {}",
            finished.stderr
        );
    }
    // `status` reports the keychain as part of the session's state, with exit 4 and no
    // `error:` line.
    let status = world.run(&["status"]);
    expect_exit(&status, 4, "status");
    assert!(
        status.stdout.contains("the OS keychain is unavailable"),
        "{}",
        status.stdout
    );
    assert!(!status.stderr.contains("error:"), "{}", status.stderr);
    world.assert_browser_visits(0, "no browser");
    assert!(
        !world.session_file().exists(),
        "no silent switch to the file store"
    );
    assert!(!world.sandbox.state_dir().join("backend").exists());
}

/// A client secret is stored like the refresh token: with the keyring backend, in the
/// keychain (account `client-secret:<hash>`), in no file; sign-in and refresh read it.
#[test]
fn keyring_backend_keeps_the_client_secret_in_the_keychain() {
    let service = secret_service();
    let mut world = World::unconfigured(IdpOptions::quirk_mode(Preset::Google, 0));
    world
        .sandbox
        .set_env("DBUS_SESSION_BUS_ADDRESS", service.bus_address());
    world.configure(&["--secrets-backend", "keyring", "--provider", "google"]);
    let set = run_with_stdin(
        &world.sandbox,
        &["config", "set", "--client-secret-stdin"],
        Some(GOOGLE_CLIENT_SECRET),
    );
    expect_exit(&set, 0, "config set --client-secret-stdin");
    assert!(
        world
            .sandbox
            .files_containing(GOOGLE_CLIENT_SECRET)
            .is_empty()
    );

    world.login();
    printed_token(&world.run(&["token", "--force-refresh"]));
    assert!(
        world
            .sandbox
            .files_containing(GOOGLE_CLIENT_SECRET)
            .is_empty()
    );
    let account = ClientKey::derive(world.idp.issuer(), world.idp.client_id()).keychain_account();
    match service.lookup(&[("service", "llmauth"), ("username", &account)]) {
        Ok(item) => assert_eq!(item.as_deref(), Some(GOOGLE_CLIENT_SECRET)),
        Err(e) => eprintln!("note: keychain item not inspected directly: {e}"),
    }
}
