//! Network: off unless asked for. Outbound TCP, UDP and a DNS query fail without `--network`
//! and work with it — always against a listener this test starts on 127.0.0.1, never any
//! other address.

use crate::sandbox_support;

use std::io::Read;
use std::net::{TcpListener, UdpSocket};
use std::time::Duration;

use sandbox_support::{confinement_or_refusal, Workspace};

fn flags(ws: &Workspace, network: bool) -> Vec<String> {
    let mut f = ws.write_flags();
    if network {
        f.push("--network".to_owned());
    }
    f
}

fn run(ws: &Workspace, network: bool, script: &str) -> sandbox_support::Run {
    let f = flags(ws, network);
    let f: Vec<&str> = f.iter().map(String::as_str).collect();
    ws.run(&f, script)
}

#[test]
fn tcp_to_a_loopback_listener_needs_network() {
    if !confinement_or_refusal() {
        return;
    }
    let ws = Workspace::new();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let script = format!("echo hello > /dev/tcp/127.0.0.1/{port} && echo sent");

    let off = run(&ws, false, &format!("exec bash -c '{script}'"));
    assert_ne!(off.code, 0, "{off:?}");
    assert!(!off.stdout.contains("sent"), "{off:?}");

    let on = run(&ws, true, &format!("exec bash -c '{script}'"));
    assert!(on.ok(), "{on:?}");
    listener.set_nonblocking(false).unwrap();
    let (mut conn, _) = listener.accept().unwrap();
    conn.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut got = String::new();
    conn.read_to_string(&mut got).unwrap();
    assert_eq!(got, "hello\n");
}

#[test]
fn udp_to_a_loopback_socket_needs_network() {
    if !confinement_or_refusal() {
        return;
    }
    let ws = Workspace::new();
    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    let port = sock.local_addr().unwrap().port();
    let script = |payload: &str| {
        format!("exec bash -c 'echo {payload} > /dev/udp/127.0.0.1/{port} && echo sent'")
    };

    let off = run(&ws, false, &script("blocked"));
    assert_ne!(off.code, 0, "{off:?}");

    let on = run(&ws, true, &script("datagram"));
    assert!(on.ok(), "{on:?}");
    sock.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut buf = [0u8; 64];
    let (n, _) = sock.recv_from(&mut buf).unwrap();
    // The datagram sent with network is the first and only one to arrive: the one without was
    // sent before it, so had it got out it would have arrived first.
    assert_eq!(&buf[..n], b"datagram\n", "nothing arrives without network");
    sock.set_nonblocking(true).unwrap();
    assert!(
        sock.recv_from(&mut buf).is_err(),
        "nothing arrives without network"
    );
}

/// A one-question DNS server on 127.0.0.1: answers every A query with 127.0.0.7.
fn dns_server() -> (UdpSocket, u16) {
    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    let port = sock.local_addr().unwrap().port();
    let server = sock.try_clone().unwrap();
    std::thread::spawn(move || {
        let mut buf = [0u8; 512];
        while let Ok((n, from)) = server.recv_from(&mut buf) {
            if n < 12 {
                continue;
            }
            let mut answer = buf[..n].to_vec();
            answer[2] = 0x81; // response, recursion desired
            answer[3] = 0x80; // recursion available, no error
            answer[6] = 0;
            answer[7] = 1; // one answer
            answer.extend_from_slice(&[0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 127, 0, 0, 7]);
            let _ = server.send_to(&answer, from);
        }
    });
    (sock, port)
}

#[test]
fn dns_to_a_loopback_resolver_needs_network() {
    if !confinement_or_refusal() {
        return;
    }
    let ws = Workspace::new();
    let (_server, port) = dns_server();
    // A real DNS query for agentd.test over UDP, parsed by perl (core modules only).
    let query = format!(
        "perl -MIO::Socket::INET -e '\
         my $s = IO::Socket::INET->new(Proto => \"udp\", PeerAddr => \"127.0.0.1:{port}\") or die \"socket: $!\\n\"; \
         my $q = pack(\"n n n n n n\", 0x1234, 0x0100, 1, 0, 0, 0) . pack(\"C/a* C/a* C\", \"agentd\", \"test\", 0) . pack(\"n n\", 1, 1); \
         $s->send($q) or die \"send: $!\\n\"; my $a; \
         local $SIG{{ALRM}} = sub {{ die \"timeout\\n\" }}; alarm 5; $s->recv($a, 512); \
         print join(\".\", unpack(\"C4\", substr($a, -4))), \"\\n\"'"
    );
    let off = run(&ws, false, &query);
    assert_ne!(off.code, 0, "{off:?}");
    assert!(off.stderr.contains("Operation not permitted"), "{off:?}");

    let on = run(&ws, true, &query);
    assert!(on.ok(), "{on:?}");
    assert_eq!(on.stdout, "127.0.0.7\n");
}

#[test]
fn unix_sockets_between_the_commands_own_processes_still_work() {
    if !confinement_or_refusal() {
        return;
    }
    let ws = Workspace::new();
    // socketpair(AF_UNIX) is what pipelines of tools and test runners use.
    let r = run(
        &ws,
        false,
        "perl -MSocket -e 'socketpair(my $a, my $b, AF_UNIX, SOCK_STREAM, 0) or die \"$!\\n\"; \
         print \"pair ok\\n\"'",
    );
    assert!(r.ok(), "{r:?}");
    assert_eq!(r.stdout, "pair ok\n");
}

/// `agentd sandbox-exec --hold-network`, as the daemon starts it: (process, `PID/USER/NET`).
fn network_holder() -> (std::process::Child, String) {
    use std::io::BufRead;
    use std::os::unix::fs::MetadataExt;
    let mut holder = std::process::Command::new(sandbox_support::bin())
        .args(["sandbox-exec", "--hold-network"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufReader::new(holder.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert_eq!(line.trim(), "ready");
    let pid = holder.id();
    let ino = |ns: &str| {
        std::fs::metadata(format!("/proc/{pid}/ns/{ns}"))
            .unwrap()
            .ino()
    };
    (holder, format!("{pid}/{}/{}", ino("user"), ino("net")))
}

#[test]
fn sandboxes_without_network_can_share_one_empty_namespace() {
    if !confinement_or_refusal() {
        return;
    }
    let ws = Workspace::new();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let (mut holder, shared) = network_holder();
    let net_ino = shared.rsplit('/').next().unwrap().to_owned();
    let mut flags = ws.write_flags();
    flags.extend(["--network-namespace".to_owned(), shared.clone()]);
    let flags: Vec<&str> = flags.iter().map(String::as_str).collect();
    let script = format!(
        "readlink /proc/self/ns/net; \
         bash -c 'echo hi > /dev/tcp/127.0.0.1/{port}' 2>/dev/null && echo connected || echo refused"
    );
    let r = ws.run(&flags, &script);
    assert_eq!(r.stdout, format!("net:[{net_ino}]\nrefused\n"), "{r:?}");

    // A holder that is gone (or a pid reused by someone else) is not joined: a fresh one then.
    holder.kill().unwrap();
    holder.wait().unwrap();
    let r = ws.run(&flags, &script);
    assert!(r.stdout.ends_with("refused\n"), "{r:?}");
    assert!(!r.stdout.contains(&net_ino), "{r:?}");
}
