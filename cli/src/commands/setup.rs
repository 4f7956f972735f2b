//! `llmauth setup`: detect tools, log in, wire each tool (receipt first, then the file),
//! and save the config — inline flags and the `configured_tools` index — only when all of
//! that worked.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use llmauth_blocking::tools::{self, receipts};
use llmauth_core::config::{Config, ConfigChanges, ConfigError, ConfiguredTool};
use llmauth_core::flow::TokenGoal;
use llmauth_core::setup::edit::{self, PatchError};
use llmauth_core::setup::helper::Helper;
use llmauth_core::setup::notices::{self, Situation};
use llmauth_core::setup::plan::plan_file;
use llmauth_core::setup::prefix::{self, PrefixChoice};
use llmauth_core::setup::receipt::{FileReceipt, RECEIPT_VERSION, Receipt};
use llmauth_core::setup::tool::{Environment, Mode, Tool, claude_desktop_library, location};
use llmauth_core::setup::wiring::{self, FileSpec, Settings, shim_file_name};
use llmauth_core::token::helper_interval;

use super::config;
use crate::app::{App, login_interaction};
use crate::args::SetupArgs;
use crate::failure::{Exit, Failure};

/// Runs `setup`.
pub(crate) fn run(app: &App, args: &SetupArgs) -> Result<(), Failure> {
    let changes = config::changes(&args.config);
    let mut document = app.read_config()?;
    let extra = config::ca_problems(&changes, &document);
    document
        .apply_with(&changes, extra)
        .map_err(|e| Failure::config(app.config_path(), &e))?;
    let config = document.validate().map_err(|e| match e {
        ConfigError::Unconfigured { .. } => Failure::new(
            Exit::Usage,
            format!("llmauth is not configured ({e})"),
            Some(
                "pass --gateway-url, --issuer and --client-id, or run `llmauth config set` first"
                    .to_owned(),
            ),
        ),
        other => Failure::config(app.config_path(), &other),
    })?;
    let env = tools::environment().ok_or_else(|| {
        Failure::new(
            Exit::Usage,
            "cannot find the home directory (HOME is not set)",
            None,
        )
    })?;
    let selected = select(args.client.as_deref(), &env)?;
    if selected.is_empty() {
        eprintln!(
            "No supported AI tools found (looked for {}).",
            Tool::ALL.map(Tool::name).join(", ")
        );
    }

    let lifetime = if args.lazy {
        None
    } else {
        login(app, &config, args.skip_browser)?
    };
    let settings = settings(app, &config, &env, &selected, lifetime)?;

    let mut done: Vec<Applied> = Vec::new();
    let mut failures: Vec<Failure> = Vec::new();
    for tool in &selected {
        match configure(app, *tool, &settings, &env) {
            Ok(applied) => done.push(applied),
            Err(failure) => {
                eprintln!("error: cannot configure {tool}: {}", failure.message);
                failures.push(failure);
            }
        }
    }

    // All or nothing: the config (inline flags, index) is saved only when every tool was
    // wired; otherwise this run's changes are undone.
    let saved = match failures.first() {
        None => persist(app, &changes, &done),
        Some(first) => Err(Failure::new(
            first.exit,
            "setup changed nothing: fix the problem above, or leave that tool out with --client",
            first.hint.clone(),
        )),
    };
    if let Err(failure) = saved {
        for applied in done.iter().rev() {
            rollback(app, applied);
        }
        return Err(failure);
    }

    let mut out = String::new();
    for applied in &done {
        out.push_str(&notices::configured(applied.tool, &applied.shown));
        out.push('\n');
    }
    let situation = Situation {
        tools: done.iter().map(|a| a.tool).collect(),
        lazy: args.lazy,
        anthropic_api_key_set: std::env::var_os("ANTHROPIC_API_KEY").is_some(),
        ca_file: settings.ca_file.clone(),
        state_dir_overridden: std::env::var_os("LLMAUTH_STATE_DIR").is_some(),
    };
    for step in notices::next_steps(&situation) {
        out.push_str(&step);
        out.push('\n');
    }
    let _ = std::io::stdout().lock().write_all(out.as_bytes());
    for warning in notices::warnings(&situation) {
        eprintln!("warning: {warning}");
    }
    Ok(())
}

/// The tools to configure: the one asked for (which must be installed), or every
/// installed one.
fn select(client: Option<&str>, env: &Environment) -> Result<Vec<Tool>, Failure> {
    let Some(name) = client else {
        return Ok(Tool::ALL
            .into_iter()
            .filter(|t| tools::installed(*t, env))
            .collect());
    };
    let tool = Tool::parse(name)
        .ok_or_else(|| Failure::new(Exit::Usage, format!("unknown tool {name:?}"), None))?;
    if !tools::installed(tool, env) {
        let place = location(tool, env);
        let commands = if place.binaries.is_empty() {
            String::new()
        } else {
            format!(" and no {} on PATH", place.binaries.join(" or "))
        };
        return Err(Failure::new(
            Exit::Usage,
            format!(
                "{name} does not seem to be installed (no {}{commands})",
                place.config_dir.display()
            ),
            Some(format!(
                "install {name} and run it once, then run setup again"
            )),
        ));
    }
    Ok(vec![tool])
}

/// Logs in (or reuses the session) and returns the token lifetime, if known.
fn login(app: &App, config: &Config, skip_browser: bool) -> Result<Option<Duration>, Failure> {
    eprintln!("Making sure you are signed in to the gateway…");
    let interaction = login_interaction(skip_browser);
    let credential = app.run_flow(config, TokenGoal::default(), interaction, None)?;
    eprintln!("Signed in.");
    Ok(credential.lifetime)
}

/// Everything the tool files depend on for this run.
fn settings(
    app: &App,
    config: &Config,
    env: &Environment,
    selected: &[Tool],
    lifetime: Option<Duration>,
) -> Result<Settings, Failure> {
    let anthropic_prefix = if selected.iter().any(|t| t.anthropic()) {
        match prefix::choice(&config.anthropic_path_prefix) {
            PrefixChoice::Fixed(prefix) => prefix,
            PrefixChoice::Probe => probe_prefix(config),
        }
    } else {
        String::new()
    };
    let (program, on_path) = tools::running_binary().map_err(|e| {
        Failure::new(
            Exit::Unexpected,
            format!("cannot locate the running llmauth binary: {e}"),
            None,
        )
    })?;
    let local_key = if selected.iter().any(|t| t.mode() == Mode::Proxy) {
        Some(
            llmauth_blocking::proxy_key::load_or_create(&app.paths).map_err(|e| {
                Failure::new(
                    Exit::Unexpected,
                    format!("cannot create the proxy's local key: {e}"),
                    None,
                )
            })?,
        )
    } else {
        None
    };
    let desktop_document_id = if selected.contains(&Tool::ClaudeDesktop) {
        desktop_document_id(app, env)?
    } else {
        String::new()
    };
    Ok(Settings {
        gateway_url: config.gateway_url.clone(),
        anthropic_prefix,
        helper: Helper {
            program: program.to_string_lossy().into_owned(),
            on_path,
            config: non_default_config(app),
        },
        interval: helper_interval(lifetime),
        ca_file: config
            .ca_file
            .as_deref()
            .map(|ca| absolute(Path::new(ca)).to_string_lossy().into_owned()),
        proxy_port: config.proxy_port,
        local_key,
        shim_path: app.paths.state_dir.join(shim_file_name(env.platform)),
        desktop_document_id,
    })
}

fn probe_prefix(config: &Config) -> String {
    let ca = config.ca_file.as_deref().map(PathBuf::from);
    let base = config.gateway_url.trim_end_matches('/');
    let prefixed = tools::probe_status(
        &format!("{base}{}{}", prefix::PROBED_PREFIX, prefix::MESSAGES_PATH),
        ca.clone(),
    );
    let plain = tools::probe_status(&format!("{base}{}", prefix::MESSAGES_PATH), ca);
    let chosen = prefix::from_probe(prefixed, plain);
    if !chosen.is_empty() {
        eprintln!("The gateway serves the Anthropic API under {chosen}.");
    }
    chosen
}

fn desktop_document_id(app: &App, env: &Environment) -> Result<String, Failure> {
    let prior = load_receipt(app, Tool::ClaudeDesktop)?;
    let meta = tools::read_tool_file(&claude_desktop_library(env).join("_meta.json"))
        .ok()
        .and_then(|f| f.bytes)
        .and_then(|b| String::from_utf8(b).ok());
    let fresh = tools::random_id_bytes()
        .map_err(|e| Failure::new(Exit::Unexpected, e.to_string(), None))?;
    Ok(wiring::desktop_document_id(
        prior.as_ref(),
        meta.as_deref(),
        fresh,
    ))
}

/// `--config <path>` for helper commands when the config is not where a tool's helper
/// would look by default (`--config` or `LLMAUTH_CONFIG` in this run).
fn non_default_config(app: &App) -> Option<String> {
    let actual = absolute(app.config_path());
    let default = tools::default_config_file().map(|p| absolute(&p));
    (default.as_ref() != Some(&actual)).then(|| actual.to_string_lossy().into_owned())
}

fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}

pub(crate) fn load_receipt(app: &App, tool: Tool) -> Result<Option<Receipt>, Failure> {
    receipts::load(&app.paths, tool.name())
        .map_err(|e| Failure::new(Exit::Usage, e.to_string(), None))
}

/// What one tool's setup changed, for the report and for rolling back.
struct Applied {
    tool: Tool,
    /// The files, as the user knows them.
    shown: Vec<String>,
    /// The file recorded in `configured_tools`.
    main_file: String,
    /// The receipt before this run (restored on rollback).
    prior: Option<Receipt>,
    /// The files written, in order.
    changes: Vec<Change>,
}

/// One file written.
struct Change {
    path: PathBuf,
    before: Option<Vec<u8>>,
    after: Vec<u8>,
    created_dirs: Vec<PathBuf>,
}

/// A file problem as a failure naming the file.
pub(crate) fn patch_failure(path: &Path, error: &PatchError) -> Failure {
    let exit = match error {
        PatchError::WrongFormat => Exit::Unexpected,
        _ => Exit::Usage,
    };
    Failure::new(
        exit,
        format!("{}: {error}", path.display()),
        Some("the file was left untouched; fix it and run the command again".to_owned()),
    )
}

fn configure(
    app: &App,
    tool: Tool,
    settings: &Settings,
    env: &Environment,
) -> Result<Applied, Failure> {
    let specs = wiring::files(tool, settings, env)
        .map_err(|e| Failure::new(Exit::Unexpected, e.to_string(), None))?;
    let prior = load_receipt(app, tool)?;
    let mut receipt = prior.clone().unwrap_or_else(|| Receipt {
        version: RECEIPT_VERSION,
        tool: tool.name().to_owned(),
        mode: tool.mode().as_str().to_owned(),
        helper_program: None,
        files: Vec::new(),
    });
    receipt.version = RECEIPT_VERSION;
    tool.mode().as_str().clone_into(&mut receipt.mode);
    let uses_absolute_path = match tool {
        Tool::ClaudeCode => !settings.helper.on_path,
        Tool::Codex | Tool::ClaudeDesktop => true,
        Tool::GeminiCli | Tool::Vscode | Tool::Cursor => false,
    };
    receipt.helper_program = uses_absolute_path.then(|| settings.helper.program.clone());
    let mut applied = Applied {
        tool,
        shown: specs.iter().map(|s| s.path.display().to_string()).collect(),
        main_file: specs
            .iter()
            .rfind(|s| s.format != llmauth_core::setup::receipt::Format::Whole)
            .or(specs.first())
            .map(|s| s.path.display().to_string())
            .unwrap_or_default(),
        prior,
        changes: Vec::new(),
    };
    for spec in &specs {
        // Locked by where the content really is, as teardown (which knows only that) does.
        let target = tools::resolve_link(&spec.path).unwrap_or_else(|_| spec.path.clone());
        let result = tools::lock_tool_file(&app.paths, &target, || {
            apply_spec(app, spec, &mut receipt, &mut applied.changes)
        })
        .map_err(|e| Failure::new(Exit::LockTimeout, e.to_string(), None))
        .and_then(|r| r);
        if let Err(failure) = result {
            rollback(app, &applied);
            return Err(failure);
        }
    }
    Ok(applied)
}

fn apply_spec(
    app: &App,
    spec: &FileSpec,
    receipt: &mut Receipt,
    changes: &mut Vec<Change>,
) -> Result<(), Failure> {
    let io_failure = |path: &Path, e: &dyn std::fmt::Display| {
        Failure::new(Exit::Unexpected, format!("{}: {e}", path.display()), None)
    };
    let file = tools::read_tool_file(&spec.path).map_err(|e| io_failure(&spec.path, &e))?;
    let text = match &file.bytes {
        Some(bytes) => Some(edit::decode(bytes).map_err(|e| patch_failure(&file.path, &e))?),
        None => None,
    };
    if text.is_some() {
        tools::check_writable(&file.path)
            .map_err(|e| Failure::new(Exit::Usage, e.to_string(), None))?;
    }
    let target = file.path.to_string_lossy().into_owned();
    let dirs = tools::missing_dirs(&file.path);
    let plan = plan_file(
        spec,
        &target,
        text,
        receipt.file(&target),
        dirs.iter()
            .map(|d| d.to_string_lossy().into_owned())
            .collect(),
    )
    .map_err(|e| patch_failure(&file.path, &e))?;

    let before_receipt = receipt.clone();
    upsert(receipt, plan.receipt);
    if *receipt != before_receipt {
        store_receipt(app, receipt)?;
    }
    let Some(new_text) = plan.new_text else {
        return Ok(());
    };
    if let Err(e) = tools::write_tool_file(&file.path, new_text.as_bytes(), spec.new_file_mode) {
        // The receipt must not claim a change that did not happen.
        let _ = store_receipt(app, &before_receipt);
        *receipt = before_receipt;
        return Err(Failure::new(Exit::Usage, e.to_string(), None));
    }
    changes.push(Change {
        path: file.path,
        before: file.bytes,
        after: new_text.into_bytes(),
        created_dirs: dirs,
    });
    Ok(())
}

/// Puts this run's record of a file into the receipt (dropping it when nothing of ours is
/// in the file).
fn upsert(receipt: &mut Receipt, file: FileReceipt) {
    let position = receipt.files.iter().position(|f| f.path == file.path);
    match (position, file.entries.is_empty()) {
        (Some(i), true) => {
            receipt.files.remove(i);
        }
        (Some(i), false) => {
            if let Some(slot) = receipt.files.get_mut(i) {
                *slot = file;
            }
        }
        (None, true) => {}
        (None, false) => receipt.files.push(file),
    }
}

fn store_receipt(app: &App, receipt: &Receipt) -> Result<(), Failure> {
    receipts::with_receipts_lock(&app.paths, || receipts::store(&app.paths, receipt))
        .map_err(|e| Failure::new(Exit::LockTimeout, e.to_string(), None))?
        .map_err(|e| {
            Failure::new(
                Exit::Unexpected,
                format!("cannot write the receipt for {}: {e}", receipt.tool),
                None,
            )
        })
}

/// Undoes what this run did to a tool: files that still hold what we wrote get their old
/// content back, and the receipt goes back to what it was.
fn rollback(app: &App, applied: &Applied) {
    for change in applied.changes.iter().rev() {
        let _ = tools::lock_tool_file(&app.paths, &change.path, || {
            let current = std::fs::read(&change.path).ok();
            if current.as_deref() != Some(change.after.as_slice()) {
                eprintln!(
                    "warning: {} changed while setup ran; not rolled back",
                    change.path.display()
                );
                return;
            }
            let restored = match &change.before {
                Some(before) => tools::write_tool_file(&change.path, before, 0o600),
                None => tools::remove_tool_file(&change.path),
            };
            if let Err(e) = restored {
                eprintln!("warning: rollback: {e}");
            }
            tools::remove_empty_dirs(&change.created_dirs);
        });
    }
    let restored = match &applied.prior {
        Some(prior) => store_receipt(app, prior),
        None => store_receipt(
            app,
            &Receipt {
                version: RECEIPT_VERSION,
                tool: applied.tool.name().to_owned(),
                mode: String::new(),
                helper_program: None,
                files: Vec::new(),
            },
        ),
    };
    if let Err(failure) = restored {
        eprintln!("warning: rollback: {}", failure.message);
    }
}

/// Saves the inline flags and the `configured_tools` index in one locked write.
fn persist(app: &App, changes: &ConfigChanges, done: &[Applied]) -> Result<(), Failure> {
    config::update(app, changes, |document| {
        let mut tools = document.raw().configured_tools.clone().unwrap_or_default();
        for applied in done {
            tools.retain(|t| t.tool != applied.tool.name());
            tools.push(ConfiguredTool {
                tool: applied.tool.name().to_owned(),
                mode: applied.tool.mode().as_str().to_owned(),
                file: applied.main_file.clone(),
            });
        }
        document.set_configured_tools(tools)
    })
    .map(|_| ())
}
