//! The seccomp filter: system calls a sandboxed command gets `EPERM` for.
//!
//! Always refused: everything that changes the mount table or enters, creates or inspects
//! namespaces (`mount`, `umount2`, `pivot_root`, the new mount API, `unshare`, `setns`, and
//! `clone` with any `CLONE_NEW*` flag), tracing and reading other processes (`ptrace`,
//! `process_vm_readv/writev`), kernel-side attack surface a build has no use for (`bpf`,
//! `keyctl` and friends, `io_uring_*` — whose requests would bypass this filter —,
//! `perf_event_open`), and what only an administrator does (`kexec_*`, module loading, `swapon`,
//! `reboot`, `acct`, `chroot`, `open_by_handle_at`). `clone3` gets `ENOSYS`, since its flags sit
//! in memory a filter cannot read; libc then falls back to `clone`, whose flags it can.
//!
//! With the network off, also: `socket` and `socketpair` for any family but `AF_UNIX`,
//! `connect`, `bind`, `listen`, `accept`, `accept4`, and `sendto` with an address.
//!
//! Most of these would fail anyway without capabilities; the filter is the layer that holds
//! even if the others had a hole. On x86_64 a separate guard refuses the x32 system-call
//! numbers, which would otherwise slip past rules written for the 64-bit ones.

use std::collections::BTreeMap;

use anyhow::Context;
use seccompiler::{
    BpfProgram, SeccompAction, SeccompCmpArgLen, SeccompCmpOp, SeccompCondition, SeccompFilter,
    SeccompRule, TargetArch,
};

/// Whether the kernel takes seccomp filters (`PR_GET_SECCOMP` is only there with seccomp).
pub(crate) fn available() -> bool {
    // SAFETY: prctl with integer arguments only.
    unsafe { libc::prctl(libc::PR_GET_SECCOMP, 0, 0, 0, 0) >= 0 }
}

/// Installs the filters on the calling thread (inherited by every child).
pub(crate) fn install(network: bool) -> anyhow::Result<()> {
    let arch: TargetArch = std::env::consts::ARCH
        .try_into()
        .context("seccomp: unsupported architecture")?;
    for program in programs(network, arch)? {
        seccompiler::apply_filter(&program).context("cannot install the seccomp filter")?;
    }
    Ok(())
}

fn programs(network: bool, arch: TargetArch) -> anyhow::Result<Vec<BpfProgram>> {
    let mut denied: BTreeMap<i64, Vec<SeccompRule>> = BTreeMap::new();
    for nr in ALWAYS_DENIED {
        denied.insert(nr, Vec::new());
    }
    let namespace_flags = [
        libc::CLONE_NEWUSER,
        libc::CLONE_NEWNS,
        libc::CLONE_NEWPID,
        libc::CLONE_NEWNET,
        libc::CLONE_NEWIPC,
        libc::CLONE_NEWUTS,
        libc::CLONE_NEWCGROUP,
        0x80, // CLONE_NEWTIME
    ];
    let mut clone_rules = Vec::new();
    for flag in namespace_flags {
        let flag = flag as u64;
        clone_rules.push(rule(
            0,
            SeccompCmpArgLen::Qword,
            SeccompCmpOp::MaskedEq(flag),
            flag,
        )?);
    }
    denied.insert(libc::SYS_clone, clone_rules);
    if !network {
        let unix = libc::AF_UNIX as u64;
        for nr in [libc::SYS_socket, libc::SYS_socketpair] {
            denied.insert(
                nr,
                vec![rule(0, SeccompCmpArgLen::Dword, SeccompCmpOp::Ne, unix)?],
            );
        }
        for nr in [
            libc::SYS_connect,
            libc::SYS_bind,
            libc::SYS_listen,
            libc::SYS_accept,
            libc::SYS_accept4,
        ] {
            denied.insert(nr, Vec::new());
        }
        // `send` is `sendto` with no address; only sending *to* an address is refused.
        denied.insert(
            libc::SYS_sendto,
            vec![rule(4, SeccompCmpArgLen::Qword, SeccompCmpOp::Ne, 0)?],
        );
    }
    let eperm = SeccompFilter::new(
        denied,
        SeccompAction::Allow,
        SeccompAction::Errno(libc::EPERM as u32),
        arch,
    )?;
    let enosys = SeccompFilter::new(
        [(libc::SYS_clone3, Vec::new())].into_iter().collect(),
        SeccompAction::Allow,
        SeccompAction::Errno(libc::ENOSYS as u32),
        arch,
    )?;
    let mut out: Vec<BpfProgram> = vec![eperm.try_into()?, enosys.try_into()?];
    if arch == TargetArch::x86_64 {
        out.push(x32_guard());
    }
    Ok(out)
}

fn rule(
    arg: u8,
    len: SeccompCmpArgLen,
    op: SeccompCmpOp,
    value: u64,
) -> anyhow::Result<SeccompRule> {
    Ok(SeccompRule::new(vec![SeccompCondition::new(
        arg, len, op, value,
    )?])?)
}

/// Refused whatever their arguments.
const ALWAYS_DENIED: [i64; 33] = [
    libc::SYS_mount,
    libc::SYS_umount2,
    libc::SYS_pivot_root,
    libc::SYS_move_mount,
    libc::SYS_open_tree,
    libc::SYS_fsopen,
    libc::SYS_fsconfig,
    libc::SYS_fsmount,
    libc::SYS_fspick,
    libc::SYS_mount_setattr,
    libc::SYS_unshare,
    libc::SYS_setns,
    libc::SYS_bpf,
    libc::SYS_ptrace,
    libc::SYS_process_vm_readv,
    libc::SYS_process_vm_writev,
    libc::SYS_keyctl,
    libc::SYS_add_key,
    libc::SYS_request_key,
    libc::SYS_io_uring_setup,
    libc::SYS_io_uring_enter,
    libc::SYS_io_uring_register,
    libc::SYS_perf_event_open,
    libc::SYS_kexec_load,
    libc::SYS_kexec_file_load,
    libc::SYS_init_module,
    libc::SYS_finit_module,
    libc::SYS_delete_module,
    libc::SYS_swapon,
    libc::SYS_swapoff,
    libc::SYS_reboot,
    libc::SYS_chroot,
    libc::SYS_open_by_handle_at,
];

/// x86_64 only: `ENOSYS` for every x32 system call (numbers with bit 30 set).
fn x32_guard() -> BpfProgram {
    use seccompiler::sock_filter;
    const LD_W_ABS: u16 = 0x20; // BPF_LD (0) | BPF_W (0) | BPF_ABS
    const JEQ_K: u16 = 0x05 | 0x10; // BPF_JMP | BPF_JEQ | BPF_K
    const JGE_K: u16 = 0x05 | 0x30; // BPF_JMP | BPF_JGE | BPF_K
    const RET_K: u16 = 0x06; // BPF_RET | BPF_K
    const AUDIT_ARCH_X86_64: u32 = 62 | 0x8000_0000 | 0x4000_0000;
    const X32_SYSCALL_BIT: u32 = 0x4000_0000;
    let op = |code, jt, jf, k| sock_filter { code, jt, jf, k };
    vec![
        op(LD_W_ABS, 0, 0, 4), // seccomp_data.arch
        op(JEQ_K, 0, 3, AUDIT_ARCH_X86_64),
        op(LD_W_ABS, 0, 0, 0), // seccomp_data.nr
        op(JGE_K, 0, 1, X32_SYSCALL_BIT),
        op(RET_K, 0, 0, libc::SECCOMP_RET_ERRNO | libc::ENOSYS as u32),
        op(RET_K, 0, 0, libc::SECCOMP_RET_ALLOW),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_compile_for_this_machine() {
        let arch: TargetArch = std::env::consts::ARCH.try_into().unwrap();
        for network in [false, true] {
            let p = programs(network, arch).unwrap();
            assert!(p.len() >= 2 && p.iter().all(|p| !p.is_empty()));
        }
    }
}
