//! `proxy install` / `proxy uninstall` through the real command line in a private home,
//! and the service as setup, teardown and `config reset` manage it.

use std::path::Path;

use llmauth_tests::sandbox::tree;

use super::common::{configured, fake_systemctl, free_port, systemctl_calls};

/// A home with things of the user's own next to where the units go.
fn lived_in_home(home: &Path) {
    let user_units = home.join(".config/systemd/user");
    std::fs::create_dir_all(&user_units).unwrap();
    std::fs::write(
        user_units.join("syncthing.service"),
        "[Service]\nExecStart=/usr/bin/syncthing\n",
    )
    .unwrap();
    std::fs::write(home.join(".bashrc"), "export EDITOR=vi\n").unwrap();
}

#[test]
fn install_then_uninstall_leaves_the_home_tree_byte_identical() {
    let port = free_port();
    for lived_in in [false, true] {
        let sandbox = configured(port);
        let home = sandbox.home();
        if lived_in {
            lived_in_home(&home);
        }
        let before = tree(&home);

        let install = sandbox.run(&["proxy", "install"]);
        assert_eq!(install.code, 0, "{}", install.stderr);
        let units = home.join(".config/systemd/user");
        let socket = std::fs::read_to_string(units.join("llmauth-proxy.socket")).unwrap();
        assert!(
            socket.contains(&format!("ListenStream=127.0.0.1:{port}\n")),
            "{socket}"
        );
        let service = std::fs::read_to_string(units.join("llmauth-proxy.service")).unwrap();
        let config = sandbox.config_file().display().to_string();
        assert!(
            service.contains(&format!(
                "ExecStart={} proxy start --managed-by systemd --config {config}\n",
                super::common::LLMAUTH
            )),
            "{service}"
        );
        assert!(
            service.contains(&format!(
                "Environment=LLMAUTH_STATE_DIR={}\n",
                sandbox.state_dir().display()
            )),
            "{service}"
        );
        // No user manager in the sandbox: the files are written and one line says how to
        // start them.
        assert!(
            install
                .stdout
                .contains("no systemd user manager answers here")
                && install
                    .stdout
                    .contains("systemctl --user enable --now llmauth-proxy.socket"),
            "{}",
            install.stdout
        );
        assert!(
            sandbox
                .state_dir()
                .join("receipts/proxy-service.json")
                .exists()
        );
        // Installing again changes nothing, and the receipt keeps what was there first.
        let again = sandbox.run(&["proxy", "install"]);
        assert_eq!(again.code, 0, "{}", again.stderr);

        let uninstall = sandbox.run(&["proxy", "uninstall"]);
        assert_eq!(uninstall.code, 0, "{}", uninstall.stderr);
        assert!(
            uninstall
                .stdout
                .contains("Removed the llmauth proxy service."),
            "{}",
            uninstall.stdout
        );
        assert_eq!(tree(&home), before, "lived in: {lived_in}");
        assert!(
            !sandbox
                .state_dir()
                .join("receipts/proxy-service.json")
                .exists()
        );
        let nothing = sandbox.run(&["proxy", "uninstall"]);
        assert_eq!(nothing.code, 0);
        assert!(
            nothing.stdout.contains("not installed"),
            "{}",
            nothing.stdout
        );
    }
}

#[test]
fn a_unit_changed_since_install_is_left_and_reported() {
    let sandbox = configured(free_port());
    assert_eq!(sandbox.run(&["proxy", "install"]).code, 0);
    let service = sandbox
        .home()
        .join(".config/systemd/user/llmauth-proxy.service");
    std::fs::write(&service, "[Service]\nExecStart=/my/own\n").unwrap();
    let uninstall = sandbox.run(&["proxy", "uninstall"]);
    assert_eq!(
        std::fs::read_to_string(&service).unwrap(),
        "[Service]\nExecStart=/my/own\n"
    );
    assert!(
        !sandbox
            .home()
            .join(".config/systemd/user/llmauth-proxy.socket")
            .exists()
    );
    assert!(
        uninstall.stdout.contains("kept") && uninstall.stdout.contains("llmauth-proxy.service"),
        "{}\n{}",
        uninstall.stdout,
        uninstall.stderr
    );
}

#[test]
fn with_a_user_manager_install_enables_the_socket_and_uninstall_disables_it() {
    let mut sandbox = configured(free_port());
    let log = fake_systemctl(&mut sandbox);
    let before = tree(&sandbox.home());
    let install = sandbox.run(&["proxy", "install"]);
    assert_eq!(install.code, 0, "{}", install.stderr);
    assert!(
        install.stdout.contains("It runs now and at every login"),
        "{}",
        install.stdout
    );
    assert_eq!(
        systemctl_calls(&log),
        [
            "--user is-system-running",
            "--user daemon-reload",
            "--user enable --now llmauth-proxy.socket",
        ]
    );
    let uninstall = sandbox.run(&["proxy", "uninstall"]);
    assert_eq!(uninstall.code, 0, "{}", uninstall.stderr);
    assert_eq!(
        systemctl_calls(&log)[3..],
        [
            "--user is-system-running",
            "--user disable --now llmauth-proxy.socket llmauth-proxy.service",
            "--user daemon-reload",
        ]
    );
    assert_eq!(tree(&sandbox.home()), before);
}

#[test]
fn setup_installs_the_service_for_proxy_tools_and_teardown_removes_it() {
    let sandbox = configured(free_port());
    let home = sandbox.home();
    std::fs::create_dir_all(home.join(".gemini")).unwrap();
    let before = tree(&home);
    let units = home.join(".config/systemd/user");

    let opted_out = sandbox.run(&["setup", "--client", "gemini-cli", "--lazy", "--no-service"]);
    assert_eq!(opted_out.code, 0, "{}", opted_out.stderr);
    assert!(!units.exists(), "--no-service installs nothing");
    assert!(
        opted_out.stdout.contains("run `llmauth proxy start`"),
        "{}",
        opted_out.stdout
    );

    let setup = sandbox.run(&["setup", "--client", "gemini-cli", "--lazy"]);
    assert_eq!(setup.code, 0, "{}", setup.stderr);
    assert!(units.join("llmauth-proxy.socket").exists());
    assert!(
        setup
            .stdout
            .contains("Installed the llmauth proxy as a systemd service")
            && setup
                .stdout
                .contains("no systemd user manager answers here"),
        "{}",
        setup.stdout
    );
    // The service is not a tool: status lists gemini-cli alone.
    let status = sandbox.run(&["status", "--format", "json"]);
    let json: serde_json::Value = serde_json::from_str(&status.stdout).unwrap();
    assert_eq!(json["tools"].as_array().unwrap().len(), 1, "{json}");

    let teardown = sandbox.run(&["teardown"]);
    assert_eq!(teardown.code, 0, "{}", teardown.stderr);
    assert_eq!(tree(&home), before);
    assert!(
        !sandbox
            .state_dir()
            .join("receipts/proxy-service.json")
            .exists()
    );
}

#[test]
fn teardown_keeps_the_service_while_a_proxy_tool_is_left_and_reset_removes_it() {
    let sandbox = configured(free_port());
    let home = sandbox.home();
    std::fs::create_dir_all(home.join(".gemini")).unwrap();
    std::fs::create_dir_all(home.join(".config/Code")).unwrap();
    let socket = home.join(".config/systemd/user/llmauth-proxy.socket");
    for tool in ["gemini-cli", "vscode"] {
        let setup = sandbox.run(&["setup", "--client", tool, "--lazy"]);
        assert_eq!(setup.code, 0, "{}", setup.stderr);
    }
    let one = sandbox.run(&["teardown", "vscode"]);
    assert_eq!(one.code, 0, "{}", one.stderr);
    assert!(socket.exists(), "gemini-cli still needs the proxy");

    let reset = sandbox.run(&["config", "reset", "--yes"]);
    assert_eq!(reset.code, 0, "{}", reset.stderr);
    assert!(!socket.exists(), "config reset removes the service");
}
