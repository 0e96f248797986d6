//! `[memory]`: the persistent memory pipeline (extract per thread, consolidate per project).
//! Off by default: it costs model calls.

use serde::{Deserialize, Serialize};

use super::error::ConfigError;

/// Jobs of one phase at once, at most (several daemons may each run this many).
const MAX_CONCURRENCY: u32 = 8;

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MemoryToml {
    pub enabled: Option<bool>,
    pub extract_model: Option<String>,
    pub consolidate_model: Option<String>,
    pub extract_profile: Option<String>,
    pub consolidate_profile: Option<String>,
    pub max_summary_tokens: Option<u32>,
    pub min_idle_secs: Option<u64>,
    pub max_threads_per_run: Option<u32>,
    pub max_age_days: Option<u32>,
    pub concurrency: Option<u32>,
    pub lease_secs: Option<u64>,
    pub max_retries: Option<u32>,
}

/// Which model a phase uses: `None` fields are the configured model and provider.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PhaseModel {
    pub model: Option<String>,
    pub provider: Option<String>,
}

/// `[memory]`, resolved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MemoryConfig {
    pub enabled: bool,
    pub extract: PhaseModel,
    pub consolidate: PhaseModel,
    pub max_summary_tokens: u32,
    pub min_idle_secs: u64,
    pub max_threads_per_run: u32,
    pub max_age_days: u32,
    pub concurrency: u32,
    pub lease_secs: u64,
    pub max_retries: u32,
}

impl Default for MemoryConfig {
    fn default() -> Self {
        MemoryConfig {
            enabled: false,
            extract: PhaseModel::default(),
            consolidate: PhaseModel::default(),
            max_summary_tokens: 5000,
            min_idle_secs: 21_600,
            max_threads_per_run: 16,
            max_age_days: 30,
            concurrency: 8,
            lease_secs: 3600,
            max_retries: 3,
        }
    }
}

/// A profile's model and provider (each `None` when neither it nor the file sets it), or
/// `None` when there is no such profile.
pub(super) type ProfileLookup<'a> = &'a dyn Fn(&str) -> Option<PhaseModel>;

/// Resolves `[memory]`; `profile(name)` gives a profile's `(model, model_provider)` or `None`
/// when there is no such profile.
pub(super) fn memory_config(
    t: MemoryToml,
    origin: &dyn Fn(&str) -> String,
    profile: ProfileLookup<'_>,
) -> Result<MemoryConfig, ConfigError> {
    let bad = |key: &str, message: String| ConfigError::BadValue {
        origin: origin(&format!("memory.{key}")),
        key: format!("memory.{key}"),
        message,
    };
    let d = MemoryConfig::default();
    let phase = |model: Option<String>, prof: Option<String>, key: &str| match (model, prof) {
        (Some(_), Some(_)) => Err(bad(key, "give a model or a profile, not both".into())),
        (Some(m), None) => Ok(PhaseModel {
            model: Some(m),
            provider: None,
        }),
        (None, Some(name)) => {
            profile(&name).ok_or_else(|| bad(key, format!("there is no [profiles.{name}]")))
        }
        (None, None) => Ok(PhaseModel::default()),
    };
    let positive = |v: Option<u32>, key: &str, default: u32| match v {
        Some(0) => Err(bad(key, "must be at least 1".into())),
        Some(n) => Ok(n),
        None => Ok(default),
    };
    let concurrency = positive(t.concurrency, "concurrency", d.concurrency)?;
    if concurrency > MAX_CONCURRENCY {
        return Err(bad(
            "concurrency",
            format!("at most {MAX_CONCURRENCY} jobs run at once"),
        ));
    }
    Ok(MemoryConfig {
        enabled: t.enabled.unwrap_or(d.enabled),
        extract: phase(t.extract_model, t.extract_profile, "extract_profile")?,
        consolidate: phase(
            t.consolidate_model,
            t.consolidate_profile,
            "consolidate_profile",
        )?,
        max_summary_tokens: positive(
            t.max_summary_tokens,
            "max_summary_tokens",
            d.max_summary_tokens,
        )?
        .min(100_000),
        min_idle_secs: t.min_idle_secs.unwrap_or(d.min_idle_secs),
        max_threads_per_run: positive(
            t.max_threads_per_run,
            "max_threads_per_run",
            d.max_threads_per_run,
        )?
        .min(1024),
        max_age_days: positive(t.max_age_days, "max_age_days", d.max_age_days)?,
        concurrency,
        // A week at most: the lease is added to a timestamp, and a number past i64 would
        // wrap it into the past (a lease expired as it is taken).
        lease_secs: t.lease_secs.unwrap_or(d.lease_secs).clamp(1, 7 * 86_400),
        max_retries: positive(t.max_retries, "max_retries", d.max_retries)?.min(100),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolve(t: MemoryToml) -> Result<MemoryConfig, ConfigError> {
        let origin = |_: &str| "config.toml".to_owned();
        let profile = |name: &str| {
            (name == "cheap").then(|| PhaseModel {
                model: Some("small".into()),
                provider: Some("local".into()),
            })
        };
        memory_config(t, &origin, &profile)
    }

    #[test]
    fn defaults_and_profiles() {
        let c = resolve(MemoryToml::default()).unwrap();
        assert_eq!(c, MemoryConfig::default());
        assert!(!c.enabled);
        let c = resolve(MemoryToml {
            extract_profile: Some("cheap".into()),
            ..MemoryToml::default()
        })
        .unwrap();
        assert_eq!(c.extract.model.as_deref(), Some("small"));
        assert_eq!(c.extract.provider.as_deref(), Some("local"));
    }

    /// A lease past i64 seconds would wrap the lease's end into the past.
    #[test]
    fn a_huge_lease_is_cut_to_a_week() {
        let c = resolve(MemoryToml {
            lease_secs: Some(u64::MAX),
            ..MemoryToml::default()
        })
        .unwrap();
        assert_eq!(c.lease_secs, 7 * 86_400);
    }

    #[test]
    fn bad_values_name_their_key() {
        let cases = [
            (
                MemoryToml {
                    concurrency: Some(20),
                    ..MemoryToml::default()
                },
                "memory.concurrency",
            ),
            (
                MemoryToml {
                    extract_profile: Some("nope".into()),
                    ..MemoryToml::default()
                },
                "memory.extract_profile",
            ),
            (
                MemoryToml {
                    consolidate_model: Some("m".into()),
                    consolidate_profile: Some("cheap".into()),
                    ..MemoryToml::default()
                },
                "memory.consolidate_profile",
            ),
            (
                MemoryToml {
                    max_summary_tokens: Some(0),
                    ..MemoryToml::default()
                },
                "memory.max_summary_tokens",
            ),
        ];
        for (t, key) in cases {
            let e = resolve(t).unwrap_err().to_string();
            assert!(e.contains(key), "{e} should name {key}");
        }
    }
}
