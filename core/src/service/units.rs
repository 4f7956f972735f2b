//! The service definitions as text: a systemd socket + service pair, a launchd agent and a
//! Task Scheduler task. Each names the running llmauth by its absolute path and passes
//! `--managed-by`, so `proxy status` and `proxy stop` know who started the proxy.

use super::{LAUNCHD_LABEL, Manager, SOCKET_UNIT, ServiceSpec, TASK_NAME};

const WRITTEN_BY: &str =
    "Written by `llmauth proxy install`; `llmauth proxy uninstall` removes it.";

/// `llmauth-proxy.socket`: the proxy's port on 127.0.0.1 and (where it exists) [::1], so
/// the first connection starts the proxy, which serves the sockets it inherits.
pub fn systemd_socket(spec: &ServiceSpec) -> String {
    let mut listen = format!("ListenStream=127.0.0.1:{}\n", spec.port);
    if spec.ipv6 {
        listen.push_str(&format!("ListenStream=[::1]:{}\n", spec.port));
    }
    format!(
        "# {WRITTEN_BY}\n\
         [Unit]\n\
         Description=llmauth proxy socket (http://localhost:{port} for AI tools)\n\
         \n\
         [Socket]\n\
         {listen}\
         \n\
         [Install]\n\
         WantedBy=sockets.target\n",
        port = spec.port,
    )
}

/// `llmauth-proxy.service`: `llmauth proxy start`, started by its socket. SIGTERM (what
/// `systemctl stop` sends) stops it gracefully, streams in flight getting up to 5 s.
pub fn systemd_service(spec: &ServiceSpec) -> String {
    let mut exec = systemd_word(&spec.helper.program);
    for arg in spec.proxy_args(Manager::Systemd) {
        exec.push(' ');
        exec.push_str(&systemd_word(&arg));
    }
    let environment = spec
        .state_dir
        .as_ref()
        .map(|dir| {
            format!(
                "Environment={}\n",
                systemd_word(&format!("LLMAUTH_STATE_DIR={dir}"))
            )
        })
        .unwrap_or_default();
    format!(
        "# {WRITTEN_BY}\n\
         [Unit]\n\
         Description=llmauth proxy (swaps AI tools' local key for a fresh gateway token)\n\
         Requires={SOCKET_UNIT}\n\
         After={SOCKET_UNIT}\n\
         \n\
         [Service]\n\
         ExecStart={exec}\n\
         {environment}\
         TimeoutStopSec=15\n"
    )
}

/// `~/Library/LaunchAgents/llmauth.proxy.plist`: started at login and kept running; a
/// graceful stop (exit 0 after SIGTERM) is not undone until the next login. (launchd's
/// `Sockets` key would need its socket API, which takes FFI that llmauth does not allow;
/// the proxy binds by itself.)
pub fn launchd_plist(spec: &ServiceSpec) -> String {
    let mut arguments = format!("\t\t<string>{}</string>\n", xml(&spec.helper.program));
    for arg in spec.proxy_args(Manager::Launchd) {
        arguments.push_str(&format!("\t\t<string>{}</string>\n", xml(&arg)));
    }
    let environment = spec
        .state_dir
        .as_ref()
        .map(|dir| {
            format!(
                "\t<key>EnvironmentVariables</key>\n\t<dict>\n\t\t<key>LLMAUTH_STATE_DIR</key>\n\t\t<string>{}</string>\n\t</dict>\n",
                xml(dir)
            )
        })
        .unwrap_or_default();
    let log = xml(&spec.log_file);
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
         <!DOCTYPE plist PUBLIC \"-//Apple//DTD PLIST 1.0//EN\" \"http://www.apple.com/DTDs/PropertyList-1.0.dtd\">\n\
         <!-- {WRITTEN_BY} -->\n\
         <plist version=\"1.0\">\n\
         <dict>\n\
         \t<key>Label</key>\n\
         \t<string>{LAUNCHD_LABEL}</string>\n\
         \t<key>ProgramArguments</key>\n\
         \t<array>\n\
         {arguments}\
         \t</array>\n\
         {environment}\
         \t<key>RunAtLoad</key>\n\
         \t<true/>\n\
         \t<key>KeepAlive</key>\n\
         \t<dict>\n\
         \t\t<key>SuccessfulExit</key>\n\
         \t\t<false/>\n\
         \t</dict>\n\
         \t<key>StandardOutPath</key>\n\
         \t<string>{log}</string>\n\
         \t<key>StandardErrorPath</key>\n\
         \t<string>{log}</string>\n\
         </dict>\n\
         </plist>\n"
    )
}

/// The Task Scheduler definition registered with `schtasks /Create /XML`: at the user's
/// logon, with no execution time limit (a task created with `/SC ONLOGON` alone is
/// stopped after 72 hours), one instance, restarted after a failure.
pub fn task_xml(spec: &ServiceSpec) -> String {
    let arguments = spec
        .proxy_args(Manager::TaskScheduler)
        .iter()
        .map(|arg| windows_argument(arg))
        .collect::<Vec<_>>()
        .join(" ");
    let user = xml(&spec.user);
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
         <!-- {WRITTEN_BY} -->\n\
         <Task version=\"1.2\" xmlns=\"http://schemas.microsoft.com/windows/2004/02/mit/task\">\n\
         \x20 <RegistrationInfo>\n\
         \x20   <Description>{TASK_NAME}: the localhost proxy that gives AI tools a fresh gateway token</Description>\n\
         \x20 </RegistrationInfo>\n\
         \x20 <Triggers>\n\
         \x20   <LogonTrigger>\n\
         \x20     <Enabled>true</Enabled>\n\
         \x20     <UserId>{user}</UserId>\n\
         \x20   </LogonTrigger>\n\
         \x20 </Triggers>\n\
         \x20 <Principals>\n\
         \x20   <Principal id=\"Author\">\n\
         \x20     <UserId>{user}</UserId>\n\
         \x20     <LogonType>InteractiveToken</LogonType>\n\
         \x20     <RunLevel>LeastPrivilege</RunLevel>\n\
         \x20   </Principal>\n\
         \x20 </Principals>\n\
         \x20 <Settings>\n\
         \x20   <MultipleInstancesPolicy>IgnoreNew</MultipleInstancesPolicy>\n\
         \x20   <DisallowStartIfOnBatteries>false</DisallowStartIfOnBatteries>\n\
         \x20   <StopIfGoingOnBatteries>false</StopIfGoingOnBatteries>\n\
         \x20   <ExecutionTimeLimit>PT0S</ExecutionTimeLimit>\n\
         \x20   <RestartOnFailure>\n\
         \x20     <Interval>PT1M</Interval>\n\
         \x20     <Count>3</Count>\n\
         \x20   </RestartOnFailure>\n\
         \x20 </Settings>\n\
         \x20 <Actions Context=\"Author\">\n\
         \x20   <Exec>\n\
         \x20     <Command>{program}</Command>\n\
         \x20     <Arguments>{arguments}</Arguments>\n\
         \x20   </Exec>\n\
         \x20 </Actions>\n\
         </Task>\n",
        program = xml(&spec.helper.program),
        arguments = xml(&arguments),
    )
}

/// One word of an `ExecStart=` or `Environment=` line: specifiers (`%`) and variable
/// references (`$`) doubled, quoted when it holds blanks, quotes or backslashes.
fn systemd_word(word: &str) -> String {
    let escaped = word.replace('%', "%%").replace('$', "$$");
    let plain = !escaped.is_empty()
        && !escaped
            .chars()
            .any(|c| c.is_whitespace() || matches!(c, '"' | '\'' | '\\' | ';'));
    if plain {
        return escaped;
    }
    format!("\"{}\"", escaped.replace('\\', "\\\\").replace('"', "\\\""))
}

/// One argument of a Windows command line (the `CommandLineToArgvW` rules): quoted when
/// it holds blanks or quotes, with the backslashes before a quote doubled.
fn windows_argument(arg: &str) -> String {
    if !arg.is_empty() && !arg.chars().any(|c| c == ' ' || c == '\t' || c == '"') {
        return arg.to_owned();
    }
    let mut quoted = String::from("\"");
    let mut backslashes = 0;
    for c in arg.chars() {
        match c {
            '\\' => backslashes += 1,
            '"' => {
                quoted.push_str(&"\\".repeat(backslashes * 2 + 1));
                quoted.push('"');
                backslashes = 0;
            }
            other => {
                quoted.push_str(&"\\".repeat(backslashes));
                quoted.push(other);
                backslashes = 0;
            }
        }
    }
    quoted.push_str(&"\\".repeat(backslashes * 2));
    quoted.push('"');
    quoted
}

/// Text for an XML element.
fn xml(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::service::spec;

    #[test]
    fn systemd_words_are_escaped_for_exec_start() {
        assert_eq!(systemd_word("/usr/bin/llmauth"), "/usr/bin/llmauth");
        assert_eq!(
            systemd_word("/opt/my tools/llmauth"),
            "\"/opt/my tools/llmauth\""
        );
        assert_eq!(systemd_word("/c/100%"), "/c/100%%");
        assert_eq!(systemd_word("/c/$HOME"), "/c/$$HOME");
        assert_eq!(systemd_word("a\"b\\c"), "\"a\\\"b\\\\c\"");
        assert_eq!(systemd_word(""), "\"\"");
    }

    #[test]
    fn windows_arguments_follow_command_line_to_argv() {
        assert_eq!(windows_argument("start"), "start");
        assert_eq!(
            windows_argument("C:\\Users\\A B\\llmauth.yaml"),
            "\"C:\\Users\\A B\\llmauth.yaml\""
        );
        assert_eq!(windows_argument("C:\\dir x\\"), "\"C:\\dir x\\\\\"");
        assert_eq!(windows_argument("a\"b"), "\"a\\\"b\"");
    }

    #[test]
    fn ipv6_is_listed_only_where_it_can_be_bound() {
        let mut spec = spec();
        assert!(systemd_socket(&spec).contains("ListenStream=[::1]:14000\n"));
        spec.ipv6 = false;
        let text = systemd_socket(&spec);
        assert!(text.contains("ListenStream=127.0.0.1:14000\n"));
        assert!(!text.contains("::1"), "{text}");
    }

    #[test]
    fn the_state_override_is_carried_and_xml_is_escaped() {
        let mut spec = spec();
        spec.state_dir = Some("/s/a&b".into());
        assert!(systemd_service(&spec).contains("Environment=LLMAUTH_STATE_DIR=/s/a&b\n"));
        assert!(launchd_plist(&spec).contains("<string>/s/a&amp;b</string>"));
        spec.state_dir = None;
        assert!(!systemd_service(&spec).contains("Environment"));
        assert!(!launchd_plist(&spec).contains("EnvironmentVariables"));
    }
}
