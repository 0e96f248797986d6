//! `tcp-relay HOST:PORT`: forwards every connection made to it to `HOST:PORT`, byte for byte.
//!
//! The bench's floor for any relay (`agentd-bench turn`, "relay floor"): a process between the
//! model and the client that does nothing but copy. What it adds over a direct read is what
//! one more process and one more loopback hop cost on the machine — wake-ups included, which
//! on a virtual machine can be most of it — so agentd's own share is what it adds beyond that.
//! Blocking threads and `read`/`write`, nothing else: the least a relay can do.

use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};

fn main() -> io::Result<()> {
    let target = std::env::args()
        .nth(1)
        .ok_or_else(|| io::Error::other("usage: tcp-relay HOST:PORT"))?;
    let listener = TcpListener::bind("127.0.0.1:0")?;
    // The caller reads the address from the first line.
    println!("{}", listener.local_addr()?);
    io::stdout().flush()?;
    for client in listener.incoming() {
        let client = client?;
        let upstream = TcpStream::connect(&target)?;
        client.set_nodelay(true)?;
        upstream.set_nodelay(true)?;
        copy_in_thread(client.try_clone()?, upstream.try_clone()?);
        copy_in_thread(upstream, client);
    }
    Ok(())
}

/// Copies `from` to `to` until `from` ends, then ends `to`'s writing half.
fn copy_in_thread(mut from: TcpStream, mut to: TcpStream) {
    std::thread::spawn(move || {
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            match from.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if to.write_all(&buf[..n]).is_err() {
                        break;
                    }
                }
            }
        }
        let _ = to.shutdown(Shutdown::Write);
    });
}
