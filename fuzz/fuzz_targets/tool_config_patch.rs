#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| llmauth_core::fuzzing::tool_config_patch(data));
