//! The plans `/upgrade` lists: `subscription.plans` from the config, else a short built-in
//! list, labelled as such (plans and prices change; the plans page is the authority).

use crate::config::schema::PlanConfig;
use serde::Serialize;

/// One plan and what it adds.
#[derive(Clone, Debug, Serialize)]
pub struct Plan {
    pub name: String,
    pub summary: String,
    pub features: Vec<String>,
}

/// Where the list came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum PlansSource {
    Config,
    BuiltIn,
}

/// The configured plans, else the built-in ones.
pub fn plans(configured: Option<&[PlanConfig]>) -> (Vec<Plan>, PlansSource) {
    match configured.filter(|p| !p.is_empty()) {
        Some(list) => (
            list.iter()
                .map(|p| Plan {
                    name: crate::terminal_text::single_line(&p.name),
                    summary: crate::terminal_text::single_line(p.summary.as_deref().unwrap_or("")),
                    features: p
                        .features
                        .iter()
                        .map(|f| crate::terminal_text::single_line(f))
                        .collect(),
                })
                .collect(),
            PlansSource::Config,
        ),
        None => (built_in(), PlansSource::BuiltIn),
    }
}

/// The consumer plans as this version knows them; the feature names are the seed's.
fn built_in() -> Vec<Plan> {
    let plan = |name: &str, summary: &str, features: &[&str]| Plan {
        name: name.to_string(),
        summary: summary.to_string(),
        features: features.iter().map(|f| f.to_string()).collect(),
    };
    vec![
        plan(
            "free",
            "Claude on the web, desktop and mobile, with a small usage allowance",
            &[],
        ),
        plan(
            "claude-pro",
            "more usage than Free, Claude Code in the terminal, more models",
            &["opus-access"],
        ),
        plan(
            "claude-max",
            "several times Pro's usage, priority at busy times, early features",
            &[
                "opus-access",
                "priority-bandwidth",
                "extended-context",
                "advanced-tools",
            ],
        ),
    ]
}
