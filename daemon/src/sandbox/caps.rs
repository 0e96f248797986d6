//! Dropping every capability.
//!
//! Init holds every capability over its new user namespace (it needs `CAP_SYS_ADMIN` there to
//! mount). The command must hold none: with them it could unmount the read-only view. Worse, a
//! root daemon's command runs as uid 0, and `execve` hands uid 0 the whole bounding set again
//! unless that set is empty — so the bounding set is emptied, the ambient set cleared, the
//! "root is special" securebits turned off and locked, and only then the permitted, effective
//! and inheritable sets cleared.

use anyhow::{bail, Context};
use nix::errno::Errno;

/// `_LINUX_CAPABILITY_VERSION_3`: two 32-bit words per set.
const CAPABILITY_VERSION_3: u32 = 0x2008_0522;

#[repr(C)]
struct CapHeader {
    version: u32,
    pid: libc::c_int,
}

#[repr(C)]
#[derive(Default, Clone, Copy)]
struct CapData {
    effective: u32,
    permitted: u32,
    inheritable: u32,
}

pub(crate) fn drop_all() -> anyhow::Result<()> {
    let last = std::fs::read_to_string("/proc/sys/kernel/cap_last_cap")
        .ok()
        .and_then(|s| s.trim().parse::<libc::c_ulong>().ok())
        .unwrap_or(63);
    for cap in 0..=last {
        // SAFETY: prctl with integer arguments only.
        let r = unsafe { libc::prctl(libc::PR_CAPBSET_DROP, cap, 0, 0, 0) };
        if r != 0 && Errno::last() != Errno::EINVAL {
            bail!(
                "cannot drop capability {cap} from the bounding set: {}",
                Errno::last()
            );
        }
    }
    // SAFETY: prctl with integer arguments only.
    let r = unsafe {
        libc::prctl(
            libc::PR_CAP_AMBIENT,
            libc::PR_CAP_AMBIENT_CLEAR_ALL,
            0,
            0,
            0,
        )
    };
    Errno::result(r).context("cannot clear the ambient capabilities")?;
    let securebits = libc::SECBIT_NOROOT
        | libc::SECBIT_NOROOT_LOCKED
        | libc::SECBIT_NO_SETUID_FIXUP_LOCKED
        | libc::SECBIT_KEEP_CAPS_LOCKED
        | libc::SECBIT_NO_CAP_AMBIENT_RAISE
        | libc::SECBIT_NO_CAP_AMBIENT_RAISE_LOCKED;
    // SAFETY: prctl with integer arguments only.
    let r = unsafe {
        libc::prctl(
            libc::PR_SET_SECUREBITS,
            securebits as libc::c_ulong,
            0,
            0,
            0,
        )
    };
    Errno::result(r).context("cannot set securebits")?;
    let mut header = CapHeader {
        version: CAPABILITY_VERSION_3,
        pid: 0,
    };
    let data = [CapData::default(); 2];
    // SAFETY: capset(2) reads the header and two data words, both valid for the call.
    let r = unsafe {
        libc::syscall(
            libc::SYS_capset,
            &mut header as *mut CapHeader,
            data.as_ptr(),
        )
    };
    Errno::result(r).context("cannot clear the capability sets")?;
    Ok(())
}
