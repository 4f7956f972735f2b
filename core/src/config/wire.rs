//! Reading `llm:` out of the YAML text with serde-saphyr.
//!
//! The visitors are written by hand rather than derived so that they can
//! * record every unknown key under `llm:` with its dotted path and line (a derived
//!   `deny_unknown_fields` names neither the section nor the full path),
//! * ignore every top-level key other than `llm:`, whatever its shape, and
//! * remember which field was being read, so a type error names the field.
//!
//! Strings are read with typed `String` targets, which keeps `no`, `1.10` or `0123` exactly as
//! written.

use std::fmt;

use serde::Deserialize;
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_saphyr::{Location, Spanned};

use super::error::ConfigError;
use super::raw::{
    ConfiguredTool, RawBedrock, RawConfig, RawOidc, RawProxy, RawSecrets, RawSetup, RawTls,
};

/// What the YAML text says about `llm:`.
#[derive(Debug)]
pub(crate) struct Parsed {
    /// The `llm:` section (default when absent or empty).
    pub(crate) raw: RawConfig,
}

/// Parses `text`; fails on YAML errors, wrong value types, unknown keys under `llm:` and
/// versions newer than this llmauth.
pub(crate) fn parse(text: &str) -> Result<Parsed, ConfigError> {
    let mut ctx = Ctx::default();
    let result = serde_saphyr::with_deserializer_from_str(text, |de| {
        TopSeed { ctx: &mut ctx }.deserialize(de)
    });
    let raw = match result {
        Ok(raw) => raw,
        Err(error) => return Err(parse_error(&error, ctx.current.as_ref())),
    };
    if let Some(found) = raw.version
        && found > super::CURRENT_VERSION
    {
        return Err(ConfigError::UnsupportedVersion { found });
    }
    if let Some(unknown) = ctx.unknown.into_iter().next() {
        return Err(ConfigError::UnknownKey {
            key: unknown.path,
            line: unknown.line,
        });
    }
    Ok(Parsed { raw })
}

/// Turns a serde-saphyr error into [`ConfigError::Parse`], naming the field being read.
fn parse_error(error: &serde_saphyr::Error, current: Option<&Current>) -> ConfigError {
    let location = error.location().filter(|location| location.line() > 0);
    let (line, column) = match (location, current) {
        (Some(location), _) => (to_usize(location.line()), to_usize(location.column())),
        (None, Some(current)) => (current.line, current.column),
        (None, None) => (1, 1),
    };
    let text = error.without_snippet().to_string();
    let message = clean_message(&text, line, column);
    let message = match current {
        Some(current) => format!("{}: {message}", current.path),
        None => message,
    };
    ConfigError::Parse {
        line,
        column: column.max(1),
        message,
    }
}

/// Drops the location suffix (reported separately) and hints that only make sense to a
/// programmer calling serde-saphyr.
fn clean_message(text: &str, line: usize, column: usize) -> String {
    let suffix = format!(" at line {line}, column {column}");
    let text = text.strip_suffix(&suffix).unwrap_or(text);
    let text = text
        .split_once(", set DuplicateKeyPolicy")
        .map_or(text, |(head, _)| head);
    let text = text
        .split_once("; use from_str")
        .map_or(text, |(head, _)| head);
    text.to_owned()
}

fn to_usize(value: u64) -> usize {
    usize::try_from(value).unwrap_or(usize::MAX)
}

/// Shared state of one parse.
#[derive(Default)]
struct Ctx {
    /// Unknown keys under `llm:`, in document order.
    unknown: Vec<Unknown>,
    /// The field whose value is being read, for error messages.
    current: Option<Current>,
}

struct Unknown {
    path: String,
    line: usize,
}

struct Current {
    path: String,
    line: usize,
    column: usize,
}

impl Ctx {
    /// Runs `read` as the reading of field `path`, whose key is at `key`: an error it
    /// returns names the field (which stays current for [`parse_error`]).
    fn within<T, E>(
        &mut self,
        path: String,
        key: Position,
        read: impl FnOnce(&mut Self) -> Result<T, E>,
    ) -> Result<T, E> {
        self.current = Some(Current {
            path,
            line: key.line,
            column: key.column,
        });
        let value = read(self)?;
        self.current = None;
        Ok(value)
    }

    /// Marks the start of `path` (an entry or a key not read yet) as what is being read.
    fn at_start_of(&mut self, path: String) {
        self.current = Some(Current {
            path,
            line: Position::START.line,
            column: Position::START.column,
        });
    }
}

#[derive(Clone, Copy)]
struct Position {
    line: usize,
    column: usize,
}

impl Position {
    /// The start of the document (or of a node whose place is unknown).
    const START: Self = Self { line: 1, column: 1 };

    fn of(key: &Spanned<String>) -> Self {
        // Inside an aliased node, `defined` is where the key is actually written.
        let location = if key.defined == Location::UNKNOWN {
            key.referenced
        } else {
            key.defined
        };
        Self {
            line: to_usize(location.line()).max(1),
            column: to_usize(location.column()).max(1),
        }
    }
}

/// Visitor methods that read the node they are given as `$value`, whatever it holds:
/// `visit_unit()` and `visit_none()` for a node with nothing in it (`key:` alone, or `~`),
/// `visit_bool(bool)` and the like for scalars.
macro_rules! reads_as {
    ($value:expr; $($method:ident($($arg:ty)?)),* $(,)?) => {$(
        fn $method<E: de::Error>(self $(, _: $arg)?) -> Result<Self::Value, E> {
            Ok($value)
        }
    )*};
}

/// The top level: a mapping (or nothing); only `llm` is read, everything else is skipped.
struct TopSeed<'c> {
    ctx: &'c mut Ctx,
}

impl<'de> DeserializeSeed<'de> for TopSeed<'_> {
    type Value = RawConfig;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<RawConfig, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for TopSeed<'_> {
    type Value = RawConfig;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a mapping at the top level of config.yaml")
    }

    reads_as!(RawConfig::default(); visit_unit(), visit_none());

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawConfig, A::Error> {
        let mut raw = RawConfig::default();
        while let Some(key) = map.next_key::<TopKey>()? {
            match key {
                TopKey::Llm => {
                    let llm = Field {
                        map: &mut map,
                        ctx: &mut *self.ctx,
                        path: "llm".to_owned(),
                        key: Position::START,
                    };
                    raw = llm.section()?;
                }
                TopKey::Other => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(raw)
    }
}

/// A top-level key: `llm`, or anything else (which may not even be a string).
enum TopKey {
    Llm,
    Other,
}

impl<'de> Deserialize<'de> for TopKey {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(TopKeyVisitor)
    }
}

struct TopKeyVisitor;

impl<'de> Visitor<'de> for TopKeyVisitor {
    type Value = TopKey;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a mapping key")
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<TopKey, E> {
        Ok(if value == "llm" {
            TopKey::Llm
        } else {
            TopKey::Other
        })
    }

    // A key that is not a string is some other tool's: skipped like any other.
    reads_as!(TopKey::Other;
        visit_bool(bool), visit_i64(i64), visit_i128(i128), visit_u64(u64), visit_u128(u128),
        visit_f64(f64), visit_bytes(&[u8]), visit_unit(), visit_none(),
    );

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<TopKey, D::Error> {
        deserializer.deserialize_any(self)
    }

    fn visit_newtype_struct<D: Deserializer<'de>>(
        self,
        deserializer: D,
    ) -> Result<TopKey, D::Error> {
        deserializer.deserialize_any(self)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<TopKey, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(TopKey::Other)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<TopKey, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(TopKey::Other)
    }
}

/// A mapping under `llm:` whose keys are known in advance.
trait Section: Default {
    /// Reads the value of `key` into `self`, or returns `false` when the key is unknown
    /// (its value is then skipped by the caller).
    fn read_field<'de, A: MapAccess<'de>>(
        &mut self,
        key: &str,
        field: Field<'_, A>,
    ) -> Result<bool, A::Error>;
}

/// The value of one key of a section, about to be read: the map it is in, and the field's
/// path and place for messages.
struct Field<'a, A> {
    map: &'a mut A,
    ctx: &'a mut Ctx,
    path: String,
    key: Position,
}

impl<'de, A: MapAccess<'de>> Field<'_, A> {
    /// The value, as `T`.
    fn value<T: Deserialize<'de>>(self) -> Result<T, A::Error> {
        self.ctx
            .within(self.path, self.key, |_| self.map.next_value())
    }

    /// A nested section.
    fn section<T: Section>(self) -> Result<T, A::Error> {
        let path = self.path.clone();
        self.ctx.within(self.path, self.key, |ctx| {
            self.map.next_value_seed(SectionSeed::<T>::new(ctx, path))
        })
    }

    /// `llm.configured_tools`, each entry named by its index.
    fn tools(self) -> Result<Option<Vec<ConfiguredTool>>, A::Error> {
        self.ctx.within(self.path, self.key, |ctx| {
            self.map.next_value_seed(ToolsSeed { ctx })
        })
    }
}

/// Reads a [`Section`] at `path`, recording unknown keys.
struct SectionSeed<'c, T> {
    ctx: &'c mut Ctx,
    path: String,
    section: std::marker::PhantomData<T>,
}

impl<'c, T> SectionSeed<'c, T> {
    fn new(ctx: &'c mut Ctx, path: String) -> Self {
        Self {
            ctx,
            path,
            section: std::marker::PhantomData,
        }
    }
}

impl<'de, T: Section> DeserializeSeed<'de> for SectionSeed<'_, T> {
    type Value = T;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<T, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de, T: Section> Visitor<'de> for SectionSeed<'_, T> {
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "a mapping for {}", self.path)
    }

    reads_as!(T::default(); visit_unit(), visit_none());

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<T, A::Error> {
        let mut section = T::default();
        loop {
            self.ctx.at_start_of(self.path.clone());
            let Some(key) = map.next_key::<Spanned<String>>()? else {
                break;
            };
            let position = Position::of(&key);
            let path = format!("{}.{}", self.path, key.value);
            let field = Field {
                map: &mut map,
                ctx: &mut *self.ctx,
                path: path.clone(),
                key: position,
            };
            if !section.read_field(&key.value, field)? {
                self.ctx.unknown.push(Unknown {
                    path,
                    line: position.line,
                });
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(section)
    }
}

/// Reads `llm.configured_tools`, naming each entry by its index.
struct ToolsSeed<'c> {
    ctx: &'c mut Ctx,
}

impl<'de> DeserializeSeed<'de> for ToolsSeed<'_> {
    type Value = Option<Vec<ConfiguredTool>>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ToolsSeed<'_> {
    type Value = Option<Vec<ConfiguredTool>>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a list of {tool, mode, file} for llm.configured_tools")
    }

    reads_as!(None; visit_unit(), visit_none());

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut tools = Vec::new();
        loop {
            let path = format!("{}[{}]", super::field::CONFIGURED_TOOLS, tools.len());
            self.ctx.at_start_of(path.clone());
            let seed = SectionSeed::<ConfiguredTool>::new(self.ctx, path);
            let Some(tool) = seq.next_element_seed(seed)? else {
                break;
            };
            tools.push(tool);
        }
        Ok(Some(tools))
    }
}

impl Section for RawConfig {
    fn read_field<'de, A: MapAccess<'de>>(
        &mut self,
        key: &str,
        field: Field<'_, A>,
    ) -> Result<bool, A::Error> {
        match key {
            "version" => self.version = field.value()?,
            "gateway_url" => self.gateway_url = field.value()?,
            "oidc" => self.oidc = field.section()?,
            "proxy" => self.proxy = field.section()?,
            "tls" => self.tls = field.section()?,
            "secrets" => self.secrets = field.section()?,
            "setup" => self.setup = field.section()?,
            "models" => self.models = field.value()?,
            "bedrock" => self.bedrock = field.section()?,
            "configured_tools" => self.configured_tools = field.tools()?,
            _ => return Ok(false),
        }
        Ok(true)
    }
}

/// A section whose keys each read straight into the field of the same name.
macro_rules! leaf_section {
    ($section:ty { $($field:ident),* $(,)? }) => {
        impl Section for $section {
            fn read_field<'de, A: MapAccess<'de>>(
                &mut self,
                key: &str,
                field: Field<'_, A>,
            ) -> Result<bool, A::Error> {
                match key {
                    $(stringify!($field) => self.$field = field.value()?,)*
                    _ => return Ok(false),
                }
                Ok(true)
            }
        }
    };
}

leaf_section!(RawOidc {
    issuer,
    client_id,
    scopes,
    audience,
    callback_port,
    prompt,
    auth_params,
    refresh_window,
    provider,
    audience_via,
    offline_via,
    client_secret,
    redirect_url,
    callback_host,
    resend_scope,
    token_kind,
    tenants
});

leaf_section!(RawProxy {
    listen_port,
    require_local_key
});

leaf_section!(RawTls {
    ca_file,
    skip_verify
});

leaf_section!(RawSecrets { backend });

leaf_section!(RawSetup {
    anthropic_path_prefix
});

leaf_section!(RawBedrock { compat, enable_1m });

impl Section for ConfiguredTool {
    fn read_field<'de, A: MapAccess<'de>>(
        &mut self,
        key: &str,
        field: Field<'_, A>,
    ) -> Result<bool, A::Error> {
        let target = match key {
            "tool" => &mut self.tool,
            "mode" => &mut self.mode,
            "file" => &mut self.file,
            _ => return Ok(false),
        };
        // A missing or null entry stays empty; validation names it.
        *target = field.value::<Option<String>>()?.unwrap_or_default();
        Ok(true)
    }
}
