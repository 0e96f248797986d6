//! The built-in lists: commands known to be read-only, and commands known to be dangerous.
//!
//! **Known-safe** means "reads, prints, and nothing else" for these exact program names
//! (a path such as `/bin/ls` or `./ls` is not trusted):
//! `ls cat head tail wc pwd echo grep which stat diff cut tr true false basename dirname
//! realpath readlink nl whoami uname cmp comm du`, and with argument checks:
//! - `rg` without `--pre` (runs a program per file) or `-z`/`--search-zip` (runs decompressors);
//! - `find` without `-exec`, `-execdir`, `-ok`, `-okdir`, `-delete`, `-fprint*`, `-fls`;
//! - `file` without `-C`/`--compile` (writes a compiled magic file);
//! - `sort` without `-o`/`--output` or `--compress-program`;
//! - `uniq` with at most one file (a second one is *written*);
//! - `sed` only as `sed -n SCRIPT [FILE…]` (plus `-E`/`-r`) where the script is nothing but
//!   `p` commands with line, `$` or `/regex/` addresses — so no `-i`, `w` or `e`;
//! - `git status|log|diff|show|rev-parse|ls-files|blame` without `--output`, and
//!   `git branch` with no arguments or listing flags only; the only global options allowed
//!   are `-C DIR`, `--no-pager`/`-P` and `--no-optional-locks` (`-c` can run programs);
//! - `cargo check|tree|metadata` without `--config` or `-Z`.
//!
//! A repository's own configuration (hooks, fsmonitor, diff drivers) and a crate's build
//! scripts, which `git status`/`git diff` and `cargo check` may run, are treated as part of
//! the project the user chose to work in. Known-safe never lifts the sandbox by itself.
//!
//! **Dangerous** is matched on the program's base name, so a path cannot hide it: `sudo`,
//! `doas`, `su`; `rm` with recursive and force flags together (in any spelling) or
//! `--no-preserve-root`; `git reset --hard`; `git push` with `--force`/`-f`,
//! `--force-with-lease`, `+refspec`, `--delete`/`-d`, `:refspec` or `--mirror`; `git clean`
//! with `-f`; `dd`; `mkfs*`, `mke2fs`, `mkswap`, `wipefs`, `fdisk`, `sfdisk`, `parted`,
//! `shred`; `shutdown`, `reboot`, `halt`, `poweroff`; `chmod` recursive to a world-writable
//! mode (`chmod -R 777`). Option checks accept GNU/git-style abbreviations (`--forc`) and
//! options after operands, erring towards "dangerous".
//!
//! Everything else — including wrappers such as `env`, `xargs` or `timeout` — is unknown.

use super::matcher::basename;
use super::Safety;

/// Classifies one simple command (not a shell script: see `shell_split.rs`).
pub(crate) fn classify(argv: &[String]) -> Safety {
    let Some((program, args)) = argv.split_first() else {
        return Safety::Unknown;
    };
    if let Some(why) = dangerous(basename(program), args) {
        return Safety::Dangerous(why);
    }
    if known_safe(program, args) {
        Safety::KnownSafe
    } else {
        Safety::Unknown
    }
}

/// The arguments before a `--` end of options: the only ones that can be options.
fn before_end_of_options(args: &[String]) -> &[String] {
    let end = args.iter().position(|a| a == "--").unwrap_or(args.len());
    &args[..end]
}

/// Whether some short-option cluster (`-rf`, `-xdf`) among `args` contains `flag`.
fn has_short(args: &[String], flag: char) -> bool {
    before_end_of_options(args)
        .iter()
        .any(|a| a.len() > 1 && a.starts_with('-') && !a.starts_with("--") && a[1..].contains(flag))
}

/// Whether some argument is the long option `--name`, `--name=…` or an abbreviation of it.
fn has_long(args: &[String], name: &str) -> bool {
    before_end_of_options(args).iter().any(|a| {
        a.strip_prefix("--")
            .map(|opt| opt.split('=').next().unwrap_or(opt))
            .is_some_and(|opt| !opt.is_empty() && name.starts_with(opt))
    })
}

/// The arguments that are not options (everything after `--` counts).
fn operands(args: &[String]) -> impl Iterator<Item = &String> {
    let end = args.iter().position(|a| a == "--");
    let (head, tail) = match end {
        Some(end) => (&args[..end], &args[end + 1..]),
        None => (args, &args[args.len()..]),
    };
    head.iter()
        .filter(|a| a.len() <= 1 || !a.starts_with('-'))
        .chain(tail)
}

fn dangerous(name: &str, args: &[String]) -> Option<String> {
    let why = match name {
        "sudo" | "doas" | "su" => format!("`{name}` runs commands with another user's rights"),
        "rm" if has_long(args, "no-preserve-root") => "rm --no-preserve-root".into(),
        "rm" if (has_short(args, 'r') || has_short(args, 'R') || has_long(args, "recursive"))
            && (has_short(args, 'f') || has_long(args, "force")) =>
        {
            "rm with recursive and force flags deletes whole trees without asking".into()
        }
        "git" => return git_dangerous(args),
        "dd" => "dd writes raw data to files and devices".into(),
        "mke2fs" | "mkswap" | "wipefs" | "fdisk" | "sfdisk" | "parted" => {
            format!("`{name}` changes disks or partitions")
        }
        n if n.starts_with("mkfs") => format!("`{name}` formats a filesystem"),
        "shred" => "shred destroys file contents".into(),
        "shutdown" | "reboot" | "halt" | "poweroff" => format!("`{name}` stops the machine"),
        "chmod"
            if (has_short(args, 'R') || has_long(args, "recursive"))
                && args.iter().any(|a| world_writable_mode(a)) =>
        {
            "chmod -R to a world-writable mode".into()
        }
        _ => return None,
    };
    Some(why)
}

/// `777`, `0666`, `a+w`, `o=rwx`, `+w`: any mode granting write to others.
fn world_writable_mode(mode: &str) -> bool {
    if !mode.is_empty() && mode.len() <= 4 && mode.bytes().all(|b| (b'0'..=b'7').contains(&b)) {
        return mode.bytes().last().is_some_and(|b| (b - b'0') & 2 != 0);
    }
    mode.split(',').any(|clause| {
        let who_len = clause.find(|c| !"ugoa".contains(c)).unwrap_or(clause.len());
        let (who, action) = clause.split_at(who_len);
        let for_others = who.is_empty() || who.contains('o') || who.contains('a');
        for_others && (action.starts_with('+') || action.starts_with('=')) && action.contains('w')
    })
}

/// Skips git's global options; returns the subcommand and its arguments, and whether every
/// global option was one of the harmless few.
fn git_subcommand(args: &[String]) -> Option<(&str, &[String], bool)> {
    let mut rest = args;
    let mut harmless = true;
    while let Some((arg, tail)) = rest.split_first() {
        if !arg.starts_with('-') {
            return Some((arg, tail, harmless));
        }
        let takes_value = [
            "-C",
            "-c",
            "--git-dir",
            "--work-tree",
            "--namespace",
            "--super-prefix",
            "--config-env",
        ];
        harmless &= ["-C", "--no-pager", "-P", "--no-optional-locks"].contains(&arg.as_str());
        rest = if takes_value.contains(&arg.as_str()) {
            tail.get(1..)?
        } else {
            tail
        };
    }
    None
}

fn git_dangerous(args: &[String]) -> Option<String> {
    let (sub, args, _) = git_subcommand(args)?;
    let why = match sub {
        "reset" if has_long(args, "hard") => "git reset --hard discards uncommitted work",
        "clean" if has_short(args, 'f') || has_long(args, "force") => {
            "git clean -f deletes untracked files"
        }
        "push"
            if has_short(args, 'f')
                || has_long(args, "force")
                || has_long(args, "force-with-lease")
                || operands(args).any(|a| a.starts_with('+')) =>
        {
            "git push --force rewrites remote history"
        }
        "push"
            if has_short(args, 'd')
                || has_long(args, "delete")
                || has_long(args, "mirror")
                || operands(args).any(|a| a.starts_with(':')) =>
        {
            "git push deleting or mirroring remote refs"
        }
        _ => return None,
    };
    Some(why.to_string())
}

/// Programs that only read and print, whatever their arguments.
const ALWAYS_SAFE: &[&str] = &[
    "ls", "cat", "head", "tail", "wc", "pwd", "echo", "grep", "which", "stat", "diff", "cut", "tr",
    "true", "false", "basename", "dirname", "realpath", "readlink", "nl", "whoami", "uname", "cmp",
    "comm", "du",
];

fn known_safe(program: &str, args: &[String]) -> bool {
    match program {
        p if ALWAYS_SAFE.contains(&p) => true,
        "rg" => !has_long(args, "pre") && !has_long(args, "search-zip") && !has_short(args, 'z'),
        "find" => !args.iter().any(|a| {
            ["-exec", "-execdir", "-ok", "-okdir", "-delete", "-fls"].contains(&a.as_str())
                || a.starts_with("-fprint")
        }),
        "file" => !has_short(args, 'C') && !has_long(args, "compile"),
        "sort" => {
            !has_short(args, 'o')
                && !has_long(args, "output")
                && !has_long(args, "compress-program")
        }
        "uniq" => operands(args).count() <= 1,
        "sed" => sed_known_safe(args),
        "git" => git_known_safe(args),
        "cargo" => {
            matches!(
                args.first().map(String::as_str),
                Some("check" | "tree" | "metadata")
            ) && !has_long(args, "config")
                && !args.iter().any(|a| a.starts_with("-Z"))
        }
        _ => false,
    }
}

fn git_known_safe(args: &[String]) -> bool {
    let Some((sub, args, harmless_globals)) = git_subcommand(args) else {
        return false;
    };
    if !harmless_globals {
        return false;
    }
    match sub {
        "status" | "log" | "diff" | "show" | "rev-parse" | "ls-files" | "blame" => {
            !has_long(args, "output")
        }
        "branch" => git_branch_lists_only(args),
        _ => false,
    }
}

/// `git branch` with listing flags only; patterns only after `--list`/`-l`, as otherwise a
/// word names a branch to create.
fn git_branch_lists_only(args: &[String]) -> bool {
    const FLAGS: &[&str] = &[
        "--all",
        "--remotes",
        "--verbose",
        "--list",
        "--show-current",
        "--color",
        "--no-color",
        "--column",
        "--no-column",
        "--no-abbrev",
    ];
    const VALUED: &[&str] = &["--color=", "--format=", "--sort=", "--abbrev=", "--column="];
    let mut listing = false;
    let mut patterns = false;
    for arg in args {
        if let Some(cluster) = arg.strip_prefix('-').filter(|c| !c.starts_with('-')) {
            if cluster.is_empty() || !cluster.chars().all(|c| "arvl".contains(c)) {
                return false;
            }
            listing |= cluster.contains('l');
        } else if arg.starts_with("--") {
            if !FLAGS.contains(&arg.as_str()) && !VALUED.iter().any(|v| arg.starts_with(v)) {
                return false;
            }
            listing |= arg == "--list";
        } else {
            patterns = true;
        }
    }
    listing || !patterns
}

/// `sed -n SCRIPT [FILE…]` where SCRIPT only prints.
fn sed_known_safe(args: &[String]) -> bool {
    let mut quiet = false;
    let mut script = None;
    let mut options_ended = false;
    for arg in args {
        if !options_ended && arg == "--" {
            options_ended = true;
        } else if !options_ended && arg.len() > 1 && arg.starts_with('-') {
            // GNU sed takes options anywhere, so a late `-i` must be seen too.
            match arg.as_str() {
                "--quiet" | "--silent" => quiet = true,
                "--regexp-extended" => {}
                long if long.starts_with("--") => return false,
                cluster if cluster[1..].chars().all(|c| "nEr".contains(c)) => {
                    quiet |= cluster.contains('n');
                }
                _ => return false,
            }
        } else if script.is_none() {
            script = Some(arg.as_str());
        }
    }
    quiet && script.is_some_and(|s| s.split([';', '\n']).all(sed_print_command))
}

/// `p`, `5p`, `$p`, `1,20p`, `/re/p`, `/a/,/b/p` (surrounding blanks allowed).
fn sed_print_command(command: &str) -> bool {
    let command = command.trim();
    let Some(rest) = sed_address(command) else {
        return false;
    };
    let rest = match rest.trim_start().strip_prefix(',') {
        // A range needs a second address.
        Some(second) => match sed_address(second.trim_start()) {
            Some(after) if after.len() < second.trim_start().len() => after,
            _ => return false,
        },
        None => rest,
    };
    rest.trim() == "p"
}

/// Skips one optional address (`12`, `$`, `/regex/`); `None` if a regex is unterminated.
fn sed_address(text: &str) -> Option<&str> {
    if let Some(regex) = text.strip_prefix('/') {
        let mut escaped = false;
        for (i, c) in regex.char_indices() {
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '/' => return Some(&regex[i + 1..]),
                _ => {}
            }
        }
        return None;
    }
    if let Some(rest) = text.strip_prefix('$') {
        return Some(rest);
    }
    Some(text.trim_start_matches(|c: char| c.is_ascii_digit()))
}
