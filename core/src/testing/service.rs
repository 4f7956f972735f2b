//! A typical service definition, for the unit and golden tests of `proxy install`.

use crate::service::ServiceSpec;
use crate::setup::helper::Helper;

/// llmauth at `/usr/local/bin/llmauth` with the default config, port 14000 on both
/// loopback addresses, the default state directory.
pub fn spec() -> ServiceSpec {
    ServiceSpec {
        helper: Helper {
            program: "/usr/local/bin/llmauth".into(),
            on_path: true,
            config: None,
            lean: None,
        },
        state_dir: None,
        port: 14000,
        ipv6: true,
        log_file: "/h/.local/state/llmauth/proxy-service.log".into(),
        user: "HOST\\u".into(),
    }
}
