//! The connection to gdb: a TCP stream that buffers what gdbstub writes
//! (one send per packet, not per byte) and answers the one packet gdb
//! needs that gdbstub 0.7 does not know, `qGetTLSAddr` (the address of a
//! thread-local variable): the request goes to gdbstub disguised as the
//! monitor command `reel-tls ...`, whose handler leaves the answer in a
//! mailbox, and gdbstub's `OK` to it is replaced by that answer.

use gdbstub::conn::{Connection, ConnectionExt};
use std::cell::RefCell;
use std::collections::VecDeque;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::rc::Rc;

/// Where the monitor command leaves the reply to a `qGetTLSAddr`.
pub type Mailbox = Rc<RefCell<Option<String>>>;

/// The monitor command a `qGetTLSAddr` becomes.
pub const TLS_COMMAND: &str = "reel-tls";

/// What is done with the bytes gdbstub writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Swallow {
    /// Sent on.
    No,
    /// A disguised request was passed on: its reply packet is replaced.
    Waiting,
    /// Inside that reply.
    InPacket,
    /// In its checksum, this many bytes left.
    Checksum(u8),
}

/// The connection gdbstub talks through.
pub struct Conn {
    stream: TcpStream,
    /// Bytes read from gdb (or rewritten) not yet handed to gdbstub.
    input: VecDeque<u8>,
    output: Vec<u8>,
    swallow: Swallow,
    mailbox: Mailbox,
}

fn checksum(body: &[u8]) -> u8 {
    body.iter().fold(0u8, |a, &b| a.wrapping_add(b))
}

fn packet(body: &str) -> Vec<u8> {
    format!("${body}#{:02x}", checksum(body.as_bytes())).into_bytes()
}

impl Conn {
    /// Wraps `stream`; TLS answers come through `mailbox`.
    pub fn new(stream: TcpStream, mailbox: Mailbox) -> Conn {
        Conn {
            stream,
            input: VecDeque::new(),
            output: Vec::new(),
            swallow: Swallow::No,
            mailbox,
        }
    }

    fn byte(&mut self) -> std::io::Result<u8> {
        self.stream.set_nonblocking(false)?;
        let mut b = [0u8];
        self.stream.read_exact(&mut b)?;
        Ok(b[0])
    }
}

impl Connection for Conn {
    type Error = std::io::Error;

    fn write(&mut self, b: u8) -> std::io::Result<()> {
        match self.swallow {
            Swallow::No => self.output.push(b),
            // Acks before the reply go on.
            Swallow::Waiting if b == b'$' => self.swallow = Swallow::InPacket,
            Swallow::Waiting => self.output.push(b),
            Swallow::InPacket if b == b'#' => self.swallow = Swallow::Checksum(2),
            Swallow::InPacket => {}
            Swallow::Checksum(1) => {
                self.swallow = Swallow::No;
                let answer = self.mailbox.borrow_mut().take();
                let answer = answer.unwrap_or_else(|| "E01".into());
                self.output.extend(packet(&answer));
            }
            Swallow::Checksum(n) => self.swallow = Swallow::Checksum(n - 1),
        }
        Ok(())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        if !self.output.is_empty() {
            Write::write_all(&mut self.stream, &self.output)?;
            self.output.clear();
        }
        Write::flush(&mut self.stream)
    }
}

impl ConnectionExt for Conn {
    fn read(&mut self) -> std::io::Result<u8> {
        if let Some(b) = self.input.pop_front() {
            return Ok(b);
        }
        let b = self.byte()?;
        if b != b'$' {
            return Ok(b);
        }
        // A whole packet ('#' is always escaped inside one).
        let mut body = Vec::new();
        loop {
            match self.byte()? {
                b'#' => break,
                c => body.push(c),
            }
        }
        let sum = [self.byte()?, self.byte()?];
        if let Some(req) = body.strip_prefix(b"qGetTLSAddr:") {
            let cmd = format!("{TLS_COMMAND} {}", String::from_utf8_lossy(req));
            let hex: String = cmd.bytes().map(|b| format!("{b:02x}")).collect();
            let p = packet(&format!("qRcmd,{hex}"));
            self.input.extend(&p[1..]);
            self.swallow = Swallow::Waiting;
        } else {
            self.input.extend(body);
            self.input.push_back(b'#');
            self.input.extend(sum);
        }
        Ok(b'$')
    }

    fn peek(&mut self) -> std::io::Result<Option<u8>> {
        if let Some(&b) = self.input.front() {
            return Ok(Some(b));
        }
        self.stream.set_nonblocking(true)?;
        let mut b = [0u8];
        // At the end of the stream too: the read then fails.
        let got = match self.stream.peek(&mut b) {
            Ok(_) => Ok(Some(b[0])),
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => Ok(None),
            Err(e) => Err(e),
        };
        self.stream.set_nonblocking(false)?;
        got
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packets_carry_their_checksum() {
        assert_eq!(packet("OK"), b"$OK#9a");
    }
}
