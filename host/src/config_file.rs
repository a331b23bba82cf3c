//! `--config PATH`: a TOML file holding any of the command line's options,
//! under their flag names (`listen = "0.0.0.0:8787"`, `tool-profile =
//! ["chatgpt=send-message"]`, `single-user = true`).
//!
//! Precedence is flags > environment > file > defaults: a file value is used
//! only where clap found neither a flag nor an environment variable. File
//! values are handed to the very parser the flags go through, so a value is
//! valid in the file exactly when it is valid as a flag, and an error names
//! the file and the key. A key no subcommand knows is an error (a typo must
//! not be silently ignored); a key of another subcommand is left alone, so
//! one file serves `serve`, `stdio` and `admin`.

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsString;
use std::path::{Path, PathBuf};

use clap::parser::ValueSource;
use clap::{ArgAction, ArgMatches, Command};

/// The flag naming the file.
pub const CONFIG_ARG: &str = "config";

/// Why a configuration file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("reading the configuration file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the configuration file {path} is not valid TOML: {message}")]
    Syntax { path: PathBuf, message: String },
    #[error("the configuration file {path} has an unknown key `{key}`{hint}")]
    UnknownKey {
        path: PathBuf,
        key: String,
        hint: String,
    },
    #[error("the configuration file {path}, key `{key}`: {message}")]
    Value {
        path: PathBuf,
        key: String,
        message: String,
    },
}

/// Where an effective setting came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Flag,
    Environment,
    File,
    Default,
}

impl Source {
    pub fn word(self) -> &'static str {
        match self {
            Source::Flag => "flag",
            Source::Environment => "environment",
            Source::File => "file",
            Source::Default => "default",
        }
    }
}

/// The command line with the file's values added where neither a flag nor
/// the environment set them, and the keys the file set. Without `--config`
/// the command line is returned as it is. `command` is the whole CLI;
/// `argv` what it was run with (program name first).
pub fn merge(
    command: &Command,
    argv: Vec<OsString>,
) -> Result<(Vec<OsString>, BTreeSet<String>), Merge> {
    let matches = command
        .clone()
        .try_get_matches_from(&argv)
        .map_err(Merge::Cli)?;
    let Some(path) = matches.get_one::<PathBuf>(CONFIG_ARG).cloned() else {
        return Ok((argv, BTreeSet::new()));
    };
    let table = read(&path).map_err(Merge::Config)?;
    let mut built = command.clone();
    built.build();
    let (current, current_matches) = subcommand_of(&built, &matches);
    let known = every_key(&built);
    let mut added = Vec::new();
    let mut from_file = BTreeSet::new();
    for (key, value) in &table {
        if !known.contains(key.as_str()) || key == CONFIG_ARG {
            return Err(Merge::Config(ConfigError::UnknownKey {
                path,
                key: key.clone(),
                hint: hint(key, &known),
            }));
        }
        let Some(arg) = current
            .get_arguments()
            .find(|arg| arg.get_long() == Some(key.as_str()))
        else {
            continue; // another subcommand's option
        };
        let id = arg.get_id().as_str();
        if matches!(
            current_matches.value_source(id),
            Some(ValueSource::CommandLine | ValueSource::EnvVariable)
        ) {
            continue;
        }
        let flags = flags_for(key, arg.get_action(), value).map_err(|message| {
            Merge::Config(ConfigError::Value {
                path: path.clone(),
                key: key.clone(),
                message,
            })
        })?;
        added.extend(flags);
        from_file.insert(key.clone());
    }
    let mut merged = argv;
    merged.extend(added.into_iter().map(OsString::from));
    // The same parser as the flags': an invalid value is found here.
    if let Err(error) = command.clone().try_get_matches_from(&merged) {
        return Err(match blamed_key(&error, &from_file) {
            Some(key) => Merge::Config(ConfigError::Value {
                path,
                key,
                message: first_line(&error),
            }),
            None => Merge::Cli(error),
        });
    }
    Ok((merged, from_file))
}

/// Why [`merge`] failed: the command line itself (clap prints it, with
/// usage), or the file.
#[derive(Debug)]
pub enum Merge {
    Cli(clap::Error),
    Config(ConfigError),
}

/// One option's effective value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Setting {
    /// As given (none: unset).
    pub values: Vec<String>,
    pub source: Source,
    /// The option may be given several times.
    pub list: bool,
}

/// The effective value of every option of the subcommand run, with where it
/// came from; `file_keys` are those [`merge`] took from the file.
pub fn effective(
    command: &Command,
    matches: &ArgMatches,
    file_keys: &BTreeSet<String>,
) -> BTreeMap<String, Setting> {
    let mut built = command.clone();
    built.build();
    let (current, current_matches) = subcommand_of(&built, matches);
    let mut settings = BTreeMap::new();
    for arg in current.get_arguments() {
        let Some(key) = arg.get_long() else { continue };
        if matches!(key, "help" | "version" | CONFIG_ARG) || arg.is_positional() {
            continue;
        }
        let id = arg.get_id().as_str();
        let values: Vec<String> = current_matches
            .get_raw(id)
            .map(|raw| raw.map(|v| v.to_string_lossy().into_owned()).collect())
            .unwrap_or_default();
        let source = match current_matches.value_source(id) {
            Some(ValueSource::CommandLine) if file_keys.contains(key) => Source::File,
            Some(ValueSource::CommandLine) => Source::Flag,
            Some(ValueSource::EnvVariable) => Source::Environment,
            _ => Source::Default,
        };
        let values = match arg.get_action() {
            // A flag's raw value is its presence, not "true".
            ArgAction::SetTrue => vec![current_matches.get_flag(id).to_string()],
            _ => values,
        };
        let values = if key == STORE_ARG {
            values.into_iter().map(|v| without_password(&v)).collect()
        } else {
            values
        };
        let list = matches!(arg.get_action(), ArgAction::Append);
        settings.insert(
            key.to_owned(),
            Setting {
                values,
                source,
                list,
            },
        );
    }
    settings
}

/// The option whose value may carry a password (`redis://:PASSWORD@…`).
const STORE_ARG: &str = "store";

/// `value` with the password of a URL in it replaced, for printing.
fn without_password(value: &str) -> String {
    match url::Url::parse(value) {
        Ok(mut url) if url.password().is_some() => {
            // `[` and `]` would be percent-encoded in the password itself.
            let _ = url.set_password(Some("REDACTED"));
            url.to_string().replacen(":REDACTED@", ":[redacted]@", 1)
        }
        _ => value.to_owned(),
    }
}

/// The effective settings as TOML a `--config` file may hold, each with its
/// source in a comment; `unset` options are commented out.
pub fn render(settings: &BTreeMap<String, Setting>) -> String {
    let mut out = String::new();
    for (key, setting) in settings {
        let value = match setting.values.as_slice() {
            [] if setting.list => "[]".to_owned(),
            [] => {
                out.push_str(&format!("# {key} = (unset)\n"));
                continue;
            }
            many if setting.list => {
                toml::Value::Array(many.iter().cloned().map(toml::Value::String).collect())
                    .to_string()
            }
            [one] if one == "true" || one == "false" => one.clone(),
            [one] if one.parse::<i64>().is_ok() => one.clone(),
            [one] => toml::Value::String(one.clone()).to_string(),
            many => many.join(" "),
        };
        out.push_str(&format!("{key} = {value}  # {}\n", setting.source.word()));
    }
    out
}

fn read(path: &Path) -> Result<toml::Table, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_owned(),
        source,
    })?;
    text.parse::<toml::Table>()
        .map_err(|error| ConfigError::Syntax {
            path: path.to_owned(),
            message: error.to_string().trim().to_owned(),
        })
}

/// The subcommand that runs (the innermost one) and its matches.
fn subcommand_of<'a>(
    command: &'a Command,
    matches: &'a ArgMatches,
) -> (&'a Command, &'a ArgMatches) {
    let (mut command, mut matches) = (command, matches);
    while let Some((name, inner)) = matches.subcommand() {
        match command.find_subcommand(name) {
            Some(sub) => (command, matches) = (sub, inner),
            None => break,
        }
    }
    (command, matches)
}

/// Every option's long name, in every subcommand.
fn every_key(command: &Command) -> BTreeSet<&str> {
    let mut keys: BTreeSet<&str> = command
        .get_arguments()
        .filter(|arg| !arg.is_positional())
        .filter_map(|arg| arg.get_long())
        .filter(|key| !matches!(*key, "help" | "version"))
        .collect();
    for sub in command.get_subcommands() {
        keys.extend(every_key(sub));
    }
    keys
}

/// ` (did you mean `x`?)` when a known key is one or two edits away.
fn hint(key: &str, known: &BTreeSet<&str>) -> String {
    known
        .iter()
        .find(|candidate| edit_distance(key, candidate) <= 2)
        .map(|candidate| format!(" (did you mean `{candidate}`?)"))
        .unwrap_or_default()
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut previous = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substituted = previous + usize::from(ca != *cb);
            previous = row[j + 1];
            row[j + 1] = substituted.min(row[j] + 1).min(previous + 1);
        }
    }
    row[b.len()]
}

/// The flags a file value stands for.
fn flags_for(key: &str, action: &ArgAction, value: &toml::Value) -> Result<Vec<String>, String> {
    let scalar = |value: &toml::Value| -> Result<String, String> {
        match value {
            toml::Value::String(text) => Ok(text.clone()),
            toml::Value::Integer(number) => Ok(number.to_string()),
            toml::Value::Float(number) => Ok(number.to_string()),
            toml::Value::Boolean(flag) => Ok(flag.to_string()),
            other => Err(format!(
                "expected a string or a number, not {}",
                other.type_str()
            )),
        }
    };
    match (action, value) {
        (ArgAction::SetTrue, toml::Value::Boolean(true)) => Ok(vec![format!("--{key}")]),
        (ArgAction::SetTrue, toml::Value::Boolean(false)) => Ok(Vec::new()),
        (ArgAction::SetTrue, other) => {
            Err(format!("expected true or false, not {}", other.type_str()))
        }
        (ArgAction::Append, toml::Value::Array(items)) => items
            .iter()
            .map(|item| Ok(format!("--{key}={}", scalar(item)?)))
            .collect(),
        (_, toml::Value::Array(_)) => Err("takes one value, not a list".into()),
        (_, value) => Ok(vec![format!("--{key}={}", scalar(value)?)]),
    }
}

/// The file key a parse error is about, if it is one the file set.
fn blamed_key(error: &clap::Error, from_file: &BTreeSet<String>) -> Option<String> {
    let clap::error::ContextValue::String(arg) = error.get(clap::error::ContextKind::InvalidArg)?
    else {
        return None;
    };
    let key = arg.strip_prefix("--")?.split([' ', '=']).next()?;
    from_file.contains(key).then(|| key.to_owned())
}

fn first_line(error: &clap::Error) -> String {
    let rendered = error.to_string();
    let line = rendered.lines().next().unwrap_or_default();
    line.strip_prefix("error: ").unwrap_or(line).to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::{Arg, value_parser};

    fn cli() -> Command {
        Command::new("app")
            .arg(
                Arg::new(CONFIG_ARG)
                    .long(CONFIG_ARG)
                    .global(true)
                    .value_parser(value_parser!(PathBuf)),
            )
            .arg(
                Arg::new("memory")
                    .long("memory-mib")
                    .global(true)
                    .default_value("64")
                    .value_parser(value_parser!(u32)),
            )
            .subcommand(
                Command::new("serve")
                    .arg(
                        Arg::new("listen")
                            .long("listen")
                            .env("TEST_CONFIG_FILE_LISTEN")
                            .default_value("127.0.0.1:8787")
                            .value_parser(value_parser!(std::net::SocketAddr)),
                    )
                    .arg(
                        Arg::new("single")
                            .long("single-user")
                            .action(ArgAction::SetTrue),
                    )
                    .arg(
                        Arg::new("origins")
                            .long("allowed-origin")
                            .action(ArgAction::Append),
                    ),
            )
            .subcommand(Command::new("tools"))
    }

    fn file(text: &str) -> tempfile::NamedTempFile {
        let file = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(file.path(), text).unwrap();
        file
    }

    fn run(args: &[&str], config: &tempfile::NamedTempFile) -> Result<ArgMatches, Merge> {
        let mut argv: Vec<OsString> = vec!["app".into(), "--config".into(), config.path().into()];
        argv.extend(args.iter().map(OsString::from));
        let (merged, _) = merge(&cli(), argv)?;
        Ok(cli().try_get_matches_from(merged).unwrap())
    }

    #[test]
    fn file_values_fill_what_flags_did_not_set() {
        let config = file(
            "listen = \"0.0.0.0:9000\"\nsingle-user = true\nallowed-origin = [\"https://a.example\", \"https://b.example\"]\nmemory-mib = 128\n",
        );
        let matches = run(&["serve"], &config).unwrap();
        let (_, serve) = matches.subcommand().unwrap();
        assert_eq!(
            serve
                .get_one::<std::net::SocketAddr>("listen")
                .unwrap()
                .port(),
            9000
        );
        assert!(serve.get_flag("single"));
        assert_eq!(serve.get_many::<String>("origins").unwrap().count(), 2);
        assert_eq!(serve.get_one::<u32>("memory"), Some(&128));
        // A flag wins over the file.
        let matches = run(&["serve", "--listen", "127.0.0.1:1"], &config).unwrap();
        let (_, serve) = matches.subcommand().unwrap();
        assert_eq!(
            serve
                .get_one::<std::net::SocketAddr>("listen")
                .unwrap()
                .port(),
            1
        );
        // Keys of another subcommand are left alone.
        assert!(run(&["tools"], &config).is_ok());
    }

    #[test]
    fn errors_name_the_file_and_the_key() {
        let unknown = file("lisen = \"0.0.0.0:9000\"\n");
        let Err(Merge::Config(error)) = run(&["serve"], &unknown) else {
            panic!("an unknown key is refused")
        };
        let message = error.to_string();
        assert!(
            message.contains("`lisen`") && message.contains("did you mean `listen`"),
            "{message}"
        );

        let invalid = file("listen = \"not an address\"\n");
        let Err(Merge::Config(error)) = run(&["serve"], &invalid) else {
            panic!("an invalid value is refused")
        };
        let message = error.to_string();
        assert!(
            message.contains("key `listen`") && message.contains("not an address"),
            "{message}"
        );

        for (text, key) in [
            ("single-user = \"yes\"\n", "single-user"),
            ("listen = [\"a\", \"b\"]\n", "listen"),
            ("memory-mib = -3\n", "memory-mib"),
        ] {
            let Err(Merge::Config(error)) = run(&["serve"], &file(text)) else {
                panic!("{text} is refused")
            };
            assert!(error.to_string().contains(&format!("`{key}`")), "{error}");
        }
        let Err(Merge::Config(ConfigError::Syntax { .. })) = run(&["serve"], &file("listen = \n"))
        else {
            panic!("bad TOML is refused")
        };
    }

    #[test]
    fn a_store_password_is_never_shown() {
        let shown = without_password("redis://:hunter2@cache:6379/1");
        assert_eq!(shown, "redis://:[redacted]@cache:6379/1");
        assert_eq!(without_password("redb"), "redb");
    }

    #[test]
    fn effective_settings_say_where_each_came_from() {
        let config = file("single-user = true\n");
        let argv: Vec<OsString> = ["app", "--config"]
            .into_iter()
            .map(OsString::from)
            .chain([
                config.path().into(),
                "serve".into(),
                "--allowed-origin".into(),
                "https://x.example".into(),
            ])
            .collect();
        let (merged, from_file) = merge(&cli(), argv).unwrap();
        let matches = cli().try_get_matches_from(merged).unwrap();
        let settings = effective(&cli(), &matches, &from_file);
        assert_eq!(settings["single-user"].values, vec!["true".to_owned()]);
        assert_eq!(settings["single-user"].source, Source::File);
        assert_eq!(settings["allowed-origin"].source, Source::Flag);
        assert!(settings["allowed-origin"].list);
        assert_eq!(settings["listen"].values, vec!["127.0.0.1:8787".to_owned()]);
        assert_eq!(settings["listen"].source, Source::Default);
        let rendered = render(&settings);
        assert!(
            rendered.contains("single-user = true  # file"),
            "{rendered}"
        );
        assert!(
            rendered.contains("allowed-origin = [\"https://x.example\"]  # flag"),
            "{rendered}"
        );
        // What it prints is a configuration file the server reads back.
        let reread: toml::Table = rendered.parse().unwrap();
        assert_eq!(reread["listen"].as_str(), Some("127.0.0.1:8787"));
    }
}
