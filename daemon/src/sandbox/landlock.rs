//! Landlock: the second filesystem layer, where the kernel has it.
//!
//! The mounts already make everything outside the writable roots read-only; Landlock says the
//! same thing a second way, checked on every access by a different part of the kernel, so one
//! mistake in either does not open the sandbox. Reading and executing are allowed everywhere;
//! writing only beneath the writable roots, plus the device files in `/dev`, `/dev/shm` and
//! `/proc` (the sandbox's own). Landlock has no "except this name" rule, so the protected
//! paths inside the roots are left to their read-only mounts. With the network off it also
//! refuses TCP bind and connect (ABI 4 and later), after seccomp already refused IP sockets.
//!
//! Best effort by design: on a kernel without Landlock (or with an older ABI) the crate applies
//! what the kernel knows and the sandbox rests on mounts, capabilities and seccomp.

use std::path::PathBuf;

use anyhow::Context;
use landlock::{
    path_beneath_rules, Access, AccessFs, AccessNet, CompatLevel, Compatible, Ruleset, RulesetAttr,
    RulesetCreatedAttr, ABI,
};

/// The newest ABI this code was written and tested against.
const TARGET_ABI: ABI = ABI::V6;

/// The kernel's Landlock ABI version; 0 without Landlock.
pub(crate) fn abi_version() -> i32 {
    // SAFETY: landlock_create_ruleset(NULL, 0, LANDLOCK_CREATE_RULESET_VERSION) only returns
    // the ABI version (or an error); it reads no memory.
    let v = unsafe {
        libc::syscall(
            libc::SYS_landlock_create_ruleset,
            std::ptr::null::<libc::c_void>(),
            0usize,
            1u32,
        )
    };
    v.max(0) as i32
}

pub(crate) fn restrict(writable_roots: &[PathBuf], network: bool) -> anyhow::Result<()> {
    let all = AccessFs::from_all(TARGET_ABI);
    let read = AccessFs::from_read(TARGET_ABI);
    let mut ruleset = Ruleset::default()
        .set_compatibility(CompatLevel::BestEffort)
        .handle_access(all)
        .context("landlock: cannot handle filesystem access")?;
    if !network {
        ruleset = ruleset
            .handle_access(AccessNet::from_all(TARGET_ABI))
            .context("landlock: cannot handle network access")?;
    }
    let mut writable: Vec<PathBuf> = writable_roots.to_vec();
    writable.extend(["/dev", "/dev/shm", "/proc"].map(PathBuf::from));
    let status = ruleset
        .create()
        .context("landlock: cannot create a ruleset")?
        .add_rules(path_beneath_rules(["/"], read))
        .context("landlock: cannot allow reading /")?
        .add_rules(path_beneath_rules(&writable, all))
        .context("landlock: cannot allow the writable roots")?
        .restrict_self()
        .context("landlock: cannot restrict the sandbox")?;
    // NotEnforced (no Landlock here) is fine: the other layers stand on their own.
    let _ = status;
    Ok(())
}
