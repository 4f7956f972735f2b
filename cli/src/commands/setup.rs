//! `llmauth setup`: the config for this run (saved flags plus inline ones), the sign-in,
//! then setup's transaction (`llmauth_blocking::tools::setup`), and what to do next.

use std::io::Write as _;
use std::time::Duration;

use llmauth_blocking::tools;
use llmauth_core::config::{Config, ConfigError};
use llmauth_core::flow::TokenGoal;
use llmauth_core::setup::error::SetupError;
use llmauth_core::setup::notices::{self, Situation};
use llmauth_core::setup::tool::Tool;
use llmauth_core::setup::transaction::select;
use llmauth_core::setup::{managed, models, skip_verify};
use llmauth_core::text::listing;

use crate::app::{App, login_interaction};
use crate::args::SetupArgs;
use crate::config_file;
use crate::failure::Failure;
use crate::service;

/// Runs `setup`.
pub(crate) fn run(app: &App, args: &SetupArgs) -> Result<(), Failure> {
    let changes = config_file::changes(&args.config);
    let mut document = app.read_config()?;
    let extra = config_file::ca_problems(&changes, &document);
    document
        .apply_with(&changes, extra)
        .map_err(|e| Failure::config(app.config_path(), &e))?;
    let config = document.validate().map_err(|e| {
        let mut failure = Failure::config(app.config_path(), &e);
        if matches!(e, ConfigError::Unconfigured { .. }) {
            failure.hint = Some(
                "pass --gateway-url, --issuer and --client-id, or run `llmauth config set` first"
                    .to_owned(),
            );
        }
        failure
    })?;
    let env = tools::environment().ok_or(SetupError::NoHome)?;
    let selected = select(args.client.as_deref(), &tools::installed(&env), &env)?;
    if selected.is_empty() {
        eprintln!(
            "No supported AI tools found (looked for {}).",
            listing(&Tool::ALL.map(Tool::name), "and")
        );
    }

    let lifetime = if args.lazy {
        None
    } else {
        login(app, &config, args.skip_browser)?
    };
    let gathered = tools::settings::gather(
        &app.paths,
        &config,
        &env,
        &selected,
        lifetime,
        args.shell_env,
    )?;
    if let Some(prefix) = &gathered.probed_prefix {
        eprintln!("The gateway serves the Anthropic API under {prefix}.");
    }
    let settings = &gathered.settings;
    let configured = tools::setup::set_up(
        &app.paths,
        &selected,
        settings,
        &env,
        |configured| config_file::record_tools(app, &changes, configured),
        |progress| eprintln!("{progress}"),
    )?;

    let mut out = String::new();
    for done in &configured {
        out.push_str(&notices::configured(done.tool, &done.shown));
        out.push('\n');
    }
    let situation = Situation {
        tools: configured.iter().map(|c| c.tool).collect(),
        lazy: args.lazy,
        anthropic_api_key_set: std::env::var_os("ANTHROPIC_API_KEY").is_some(),
        ca_file: settings.ca_file.clone(),
        state_dir_overridden: std::env::var_os("LLMAUTH_STATE_DIR").is_some(),
        gateway_url: config.gateway_url.clone(),
    };
    for step in notices::next_steps(&situation) {
        out.push_str(&step);
        out.push('\n');
    }
    let _ = std::io::stdout().lock().write_all(out.as_bytes());
    service::after_setup(app, &config, &configured, args.no_service);
    let wired = &situation.tools;
    let managed_profiles = tools::managed::profiles(&env, wired);
    let warnings = notices::warnings(&situation)
        .into_iter()
        .chain(models::warnings(&changes, &config, wired))
        .chain(skip_verify::notes(config.skip_verify, wired))
        .chain(notices::shell_env_warning(
            args.shell_env,
            wired,
            gathered.no_shell_for_env,
        ))
        .chain(managed_profiles.iter().map(managed::warning));
    for warning in warnings {
        eprintln!("warning: {warning}");
    }
    Ok(())
}

/// Logs in (or reuses the session) and returns the token lifetime, if known.
fn login(app: &App, config: &Config, skip_browser: bool) -> Result<Option<Duration>, Failure> {
    eprintln!("Making sure you are signed in to the gateway…");
    let interaction = login_interaction(skip_browser);
    let credential = app.run_flow(config, TokenGoal::default(), interaction, None)?;
    app.after_new_token(&config.session_key(), &credential);
    eprintln!("Signed in.");
    Ok(credential.lifetime)
}
