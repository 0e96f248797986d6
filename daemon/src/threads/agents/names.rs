//! Sub-agents' nicknames: short, distinct within a root thread's tree, easy to type as a
//! `target`.

const NAMES: &[&str] = &[
    "ada",
    "babbage",
    "curie",
    "darwin",
    "euler",
    "faraday",
    "gauss",
    "hopper",
    "ibn-sina",
    "jemison",
    "kepler",
    "lovelace",
    "maxwell",
    "noether",
    "ohm",
    "pascal",
    "ramanujan",
    "shannon",
    "turing",
    "volta",
];

/// The first name not in `taken`, else `agent-N`.
pub fn pick(taken: &[String]) -> String {
    NAMES
        .iter()
        .map(|n| (*n).to_owned())
        .find(|n| !taken.contains(n))
        .unwrap_or_else(|| {
            (1..)
                .map(|i| format!("agent-{i}"))
                .find(|n| !taken.contains(n))
                .unwrap_or_default()
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_distinct() {
        assert_eq!(pick(&[]), "ada");
        assert_eq!(pick(&["ada".into()]), "babbage");
        let all: Vec<String> = NAMES.iter().map(|n| (*n).to_owned()).collect();
        assert_eq!(pick(&all), "agent-1");
    }
}
