//! `config.yaml`: parsing, validation, incremental changes and rendering.
