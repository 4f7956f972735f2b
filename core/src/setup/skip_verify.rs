//! What `tls.skip_verify` means for each tool setup wired: it turns off certificate checks
//! only where llmauth itself talks to the gateway — the proxy's upstream connection. A tool
//! that talks to the gateway directly still checks the certificate with its own trust
//! store, so it must be given the gateway's CA some other way.

use super::tool::Tool;

/// How a tool that talks to the gateway directly can trust its certificate; `None` for
/// tools that talk only to the proxy.
fn own_trust(tool: Tool) -> Option<&'static str> {
    match tool {
        Tool::ClaudeCode => Some(
            "NODE_EXTRA_CA_CERTS, which setup writes into its settings when llmauth has a CA file (`llmauth setup --ca-file PATH`)",
        ),
        Tool::Codex => Some("CODEX_CA_CERTIFICATE=<CA file> in its environment"),
        Tool::ClaudeDesktop => Some("the operating system's trust store (add the CA there)"),
        Tool::GeminiCli | Tool::Vscode | Tool::VscodeInsiders | Tool::Cursor | Tool::Xcode => None,
    }
}

/// With `tls.skip_verify` on, one line per tool in `tools` (stderr); nothing otherwise.
pub fn notes(skip_verify: bool, tools: &[Tool]) -> Vec<String> {
    if !skip_verify {
        return Vec::new();
    }
    tools
        .iter()
        .map(|&tool| match own_trust(tool) {
            None => format!(
                "{tool} reaches the gateway through the proxy: tls.skip_verify turns off certificate checks on the proxy's connection to the gateway only"
            ),
            Some(how) => format!(
                "{tool} talks to the gateway directly, so tls.skip_verify does not apply to it: it verifies the gateway's certificate itself and must trust it through {how}"
            ),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::setup::tool::Mode;

    #[test]
    fn each_mode_is_told_what_skip_verify_means() {
        assert!(notes(false, &Tool::ALL).is_empty());
        let lines = notes(
            true,
            &[
                Tool::ClaudeCode,
                Tool::Codex,
                Tool::ClaudeDesktop,
                Tool::Cursor,
            ],
        );
        assert_eq!(
            lines,
            [
                "claude-code talks to the gateway directly, so tls.skip_verify does not apply to it: it verifies the gateway's certificate itself and must trust it through NODE_EXTRA_CA_CERTS, which setup writes into its settings when llmauth has a CA file (`llmauth setup --ca-file PATH`)",
                "codex talks to the gateway directly, so tls.skip_verify does not apply to it: it verifies the gateway's certificate itself and must trust it through CODEX_CA_CERTIFICATE=<CA file> in its environment",
                "claude-desktop talks to the gateway directly, so tls.skip_verify does not apply to it: it verifies the gateway's certificate itself and must trust it through the operating system's trust store (add the CA there)",
                "cursor reaches the gateway through the proxy: tls.skip_verify turns off certificate checks on the proxy's connection to the gateway only",
            ]
        );
        for tool in Tool::ALL {
            assert_eq!(
                own_trust(tool).is_none(),
                tool.mode() == Mode::Proxy,
                "{tool}"
            );
        }
    }
}
