//! Typed experiment configurations: each parameter has a key (the document's variable name in
//! snake_case), a kind with its allowed range, a default (the document's value) and a meaning.

use std::collections::BTreeMap;
use std::fmt;

use serde_json::Value;

/// What values a parameter accepts.
#[derive(Debug, Clone, PartialEq)]
pub enum Kind {
    /// A finite float in `[min, max]`.
    Float {
        /// Smallest allowed value.
        min: f64,
        /// Largest allowed value.
        max: f64,
    },
    /// An integer in `[min, max]`.
    Int {
        /// Smallest allowed value.
        min: i64,
        /// Largest allowed value.
        max: i64,
    },
    /// One of a fixed set of words.
    Choice(&'static [&'static str]),
}

/// A parameter's value.
#[derive(Debug, Clone, PartialEq)]
pub enum ParamValue {
    /// A float.
    Float(f64),
    /// An integer.
    Int(i64),
    /// A word from a [`Kind::Choice`].
    Word(String),
}

impl ParamValue {
    /// As JSON.
    pub fn to_json(&self) -> Value {
        match self {
            ParamValue::Float(x) => serde_json::json!(x),
            ParamValue::Int(i) => serde_json::json!(i),
            ParamValue::Word(w) => serde_json::json!(w),
        }
    }
}

impl fmt::Display for ParamValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParamValue::Float(x) => write!(f, "{x:?}"),
            ParamValue::Int(i) => write!(f, "{i}"),
            ParamValue::Word(w) => f.write_str(w),
        }
    }
}

/// One parameter of an experiment.
#[derive(Debug, Clone)]
pub struct Param {
    /// The key, as the document's code names it (snake_case).
    pub key: &'static str,
    /// Allowed values.
    pub kind: Kind,
    /// The document's value.
    pub default: ParamValue,
    /// What it means.
    pub help: &'static str,
}

impl Param {
    /// A float parameter.
    pub fn float(key: &'static str, default: f64, min: f64, max: f64, help: &'static str) -> Self {
        Param {
            key,
            kind: Kind::Float { min, max },
            default: ParamValue::Float(default),
            help,
        }
    }

    /// An integer parameter.
    pub fn int(key: &'static str, default: i64, min: i64, max: i64, help: &'static str) -> Self {
        Param {
            key,
            kind: Kind::Int { min, max },
            default: ParamValue::Int(default),
            help,
        }
    }

    /// A choice among words.
    pub fn choice(
        key: &'static str,
        default: &'static str,
        allowed: &'static [&'static str],
        help: &'static str,
    ) -> Self {
        Param {
            key,
            kind: Kind::Choice(allowed),
            default: ParamValue::Word(default.into()),
            help,
        }
    }

    /// What the parameter accepts, for help and errors.
    pub fn allowed(&self) -> String {
        match &self.kind {
            Kind::Float { min, max } => format!("a number in [{min:?}, {max:?}]"),
            Kind::Int { min, max } => format!("an integer in [{min}, {max}]"),
            Kind::Choice(words) => format!("one of {}", words.join(", ")),
        }
    }

    /// Parses a value given on the command line.
    pub fn parse(&self, text: &str) -> Result<ParamValue, ConfigError> {
        let bad = || ConfigError::BadValue {
            key: self.key.to_string(),
            value: text.to_string(),
            allowed: self.allowed(),
        };
        match &self.kind {
            Kind::Float { min, max } => {
                let x: f64 = text.trim().parse().map_err(|_| bad())?;
                if !x.is_finite() || x < *min || x > *max {
                    return Err(bad());
                }
                Ok(ParamValue::Float(x))
            }
            Kind::Int { min, max } => {
                let i: i64 = text.trim().parse().map_err(|_| bad())?;
                if i < *min || i > *max {
                    return Err(bad());
                }
                Ok(ParamValue::Int(i))
            }
            Kind::Choice(words) => {
                if words.contains(&text.trim()) {
                    Ok(ParamValue::Word(text.trim().to_string()))
                } else {
                    Err(bad())
                }
            }
        }
    }
}

/// A bad `--set` or `--seed`.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ConfigError {
    /// A key the experiment does not have.
    #[error("unknown key `{key}` for experiment {experiment}; known keys: {known}")]
    UnknownKey {
        /// The experiment.
        experiment: String,
        /// The key given.
        key: String,
        /// The keys it has.
        known: String,
    },
    /// A value that does not parse or is out of range.
    #[error("bad value `{value}` for `{key}`: expected {allowed}")]
    BadValue {
        /// The key.
        key: String,
        /// The text given.
        value: String,
        /// What is allowed.
        allowed: String,
    },
    /// `--set` without `=`.
    #[error("bad setting `{0}`: expected KEY=VALUE")]
    Syntax(String),
    /// No experiment by that id.
    #[error("unknown experiment `{id}`; known: {known}")]
    UnknownExperiment {
        /// The id given.
        id: String,
        /// The ids there are.
        known: String,
    },
}

/// The parameters of one run: every key with its value, and the random seed.
#[derive(Debug, Clone)]
pub struct Config {
    values: BTreeMap<&'static str, ParamValue>,
    /// The seed, when the run draws random numbers; `None` keeps the document's own source
    /// (its seed, or the row indices recorded from TensorFlow).
    pub seed: Option<u64>,
}

impl Config {
    /// The defaults of `params`.
    pub fn defaults(params: &[Param]) -> Self {
        Config {
            values: params.iter().map(|p| (p.key, p.default.clone())).collect(),
            seed: None,
        }
    }

    /// Applies `KEY=VALUE` settings, checking keys and values against `params`.
    pub fn with_settings(
        params: &[Param],
        experiment: &str,
        settings: &[String],
    ) -> Result<Self, ConfigError> {
        let mut cfg = Self::defaults(params);
        for s in settings {
            let (key, value) = s
                .split_once('=')
                .ok_or_else(|| ConfigError::Syntax(s.clone()))?;
            cfg.set(params, experiment, key.trim(), value)?;
        }
        Ok(cfg)
    }

    /// Sets one key.
    pub fn set(
        &mut self,
        params: &[Param],
        experiment: &str,
        key: &str,
        value: &str,
    ) -> Result<(), ConfigError> {
        let p = params
            .iter()
            .find(|p| p.key == key)
            .ok_or_else(|| ConfigError::UnknownKey {
                experiment: experiment.to_string(),
                key: key.to_string(),
                known: params.iter().map(|p| p.key).collect::<Vec<_>>().join(", "),
            })?;
        self.values.insert(p.key, p.parse(value)?);
        Ok(())
    }

    /// A float (an integer parameter converts).
    pub fn f64(&self, key: &str) -> f64 {
        match self.values.get(key) {
            Some(ParamValue::Float(x)) => *x,
            Some(ParamValue::Int(i)) => *i as f64,
            _ => f64::NAN,
        }
    }

    /// An integer parameter as a count (0 when missing: a programming error caught by tests).
    pub fn usize(&self, key: &str) -> usize {
        match self.values.get(key) {
            Some(ParamValue::Int(i)) => (*i).max(0) as usize,
            Some(ParamValue::Float(x)) => x.max(0.0) as usize,
            _ => 0,
        }
    }

    /// A word parameter.
    pub fn word(&self, key: &str) -> &str {
        match self.values.get(key) {
            Some(ParamValue::Word(w)) => w,
            _ => "",
        }
    }

    /// Every parameter as JSON, plus the seed.
    pub fn to_json(&self) -> Value {
        let mut m: serde_json::Map<String, Value> = self
            .values
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_json()))
            .collect();
        m.insert(
            "seed".into(),
            self.seed.map_or(Value::Null, |s| serde_json::json!(s)),
        );
        Value::Object(m)
    }
}
