//! Set elements over nfnetlink: what `nft add element` and `nft delete
//! element` send the kernel, without running nft (netlink(7) family
//! NETLINK_NETFILTER; the messages are in linux/netfilter/nf_tables.h).
//!
//! Publishing a port is adding two elements (see [`crate::firewall`]);
//! that is all a container's start and end change in the firewall, and
//! running nft for it costs its exec and its reading of the ruleset, ~4 ms
//! each time. Here it is one `sendmsg` of a batch and its answers:
//!
//! ```text
//! NFNL_MSG_BATCH_BEGIN                       res_id = NFNL_SUBSYS_NFTABLES
//! NFT_MSG_NEWSETELEM  table, set, [ elem { key, data } … ]   (or DELSETELEM)
//! …
//! NFNL_MSG_BATCH_END                         the kernel commits all, or none
//! ```
//!
//! Consecutive changes of one kind to one set share a message. Each
//! message asks for an ACK, so the kernel answers every one with an errno
//! (0: done) once the batch is committed or refused.
//!
//! **Closing.** When the last reference to an nfnetlink socket goes, the
//! kernel first waits for the work that frees what transactions (anyone's:
//! the last container's detach, say) removed: an RCU grace period, 10–20
//! ms here. Our change is committed by then; only the closer waits. So the
//! socket is closed last by a child process ([`crate::later`]).

use netlink_sys::{protocols::NETLINK_NETFILTER, Socket, SocketAddr};
use nix::errno::Errno;

/// One element of a set or map: its key and, in a map, its value, each in
/// the kernel's layout (a concatenation's fields each padded to 4 bytes).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Element {
    pub set: &'static str,
    pub key: Vec<u8>,
    pub data: Option<Vec<u8>>,
}

/// What to do with an element.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    Add,
    Delete,
}

// linux/netlink.h, linux/netfilter/nfnetlink.h, linux/netfilter/nf_tables.h
const NLM_F_REQUEST: u16 = 0x1;
const NLM_F_ACK: u16 = 0x4;
const NLM_F_CREATE: u16 = 0x400;
const NLMSG_ERROR: u16 = 0x2;
const NLA_F_NESTED: u16 = 0x8000;
const NFNL_MSG_BATCH_BEGIN: u16 = 0x10;
const NFNL_MSG_BATCH_END: u16 = 0x11;
const NFNL_SUBSYS_NFTABLES: u16 = 10;
const NFT_MSG_GETTABLE: u16 = 1;
const NFT_MSG_NEWSETELEM: u16 = 12;
const NFT_MSG_DELSETELEM: u16 = 14;
const NFTA_TABLE_NAME: u16 = 1;
const NFTA_SET_ELEM_LIST_TABLE: u16 = 1;
const NFTA_SET_ELEM_LIST_SET: u16 = 2;
const NFTA_SET_ELEM_LIST_ELEMENTS: u16 = 3;
const NFTA_LIST_ELEM: u16 = 1;
const NFTA_SET_ELEM_KEY: u16 = 1;
const NFTA_SET_ELEM_DATA: u16 = 2;
const NFTA_DATA_VALUE: u16 = 1;
const AF_INET: u8 = 2;

/// Applies `changes` to sets of table `table` (family `ip`) in one
/// transaction: all of them, or none and the errno of the first refused
/// (ENOENT: no such table or set).
pub fn commit(table: &str, changes: &[(Op, Element)]) -> std::result::Result<(), Errno> {
    if changes.is_empty() {
        return Ok(());
    }
    let (bytes, messages) = batch(table, changes);
    exchange(&bytes, messages)
}

/// Whether table `table` (family `ip`) exists.
pub fn table_exists(table: &str) -> std::result::Result<bool, Errno> {
    let mut attrs = Vec::new();
    attr(&mut attrs, NFTA_TABLE_NAME, &c_string(table));
    let mut bytes = Vec::new();
    let kind = (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_GETTABLE;
    message(&mut bytes, kind, NLM_F_REQUEST | NLM_F_ACK, 1, AF_INET, 0, &attrs);
    match exchange(&bytes, 1) {
        Ok(()) => Ok(true),
        Err(Errno::ENOENT) => Ok(false),
        Err(e) => Err(e),
    }
}

/// Sends `bytes` and collects the answers to its `messages` messages.
fn exchange(bytes: &[u8], messages: usize) -> std::result::Result<(), Errno> {
    let io = |e: std::io::Error| Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO));
    let mut socket = Socket::new(NETLINK_NETFILTER).map_err(io)?;
    socket.bind_auto().map_err(io)?;
    socket.connect(&SocketAddr::new(0, 0)).map_err(io)?;
    // The kernel answers at once; a bound, so that a kernel that does not
    // (which should never be) cannot hang a container's start.
    let bound = nix::sys::time::TimeVal::new(5, 0);
    nix::sys::socket::setsockopt(&socket, nix::sys::socket::sockopt::ReceiveTimeout, &bound)?;
    socket.send(bytes, 0).map_err(io)?;
    let answered = answers(&socket, messages);
    crate::later::close(socket);
    answered
}

/// Waits for an answer to each of the `n` element messages (sequence
/// numbers 1..=n); the first errno, if any. An error about the batch's
/// begin or end (0, n + 1) is the whole batch refused.
fn answers(socket: &Socket, n: usize) -> std::result::Result<(), Errno> {
    let mut answered = 0;
    let mut first_error = None;
    while answered < n {
        let (data, _) = socket
            .recv_from_full()
            .map_err(|e| Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO)))?;
        let mut at = 0;
        while at + 16 <= data.len() {
            let word = |i: usize| u32::from_ne_bytes(data[i..i + 4].try_into().expect("4 bytes"));
            let (len, seq) = (word(at) as usize, word(at + 8) as usize);
            let kind = u16::from_ne_bytes([data[at + 4], data[at + 5]]);
            if len < 16 || at + len > data.len() {
                break;
            }
            if kind == NLMSG_ERROR && len >= 20 {
                let code = word(at + 16) as i32;
                if !(1..=n).contains(&seq) {
                    return Err(Errno::from_raw(-code));
                }
                answered += 1;
                if code != 0 && first_error.is_none() {
                    first_error = Some(Errno::from_raw(-code));
                }
            }
            at += (len + 3) & !3;
        }
    }
    first_error.map_or(Ok(()), Err)
}

/// The bytes of the batch (begin, a message per run of changes of one
/// kind to one set, end) and how many messages it holds between the two.
fn batch(table: &str, changes: &[(Op, Element)]) -> (Vec<u8>, usize) {
    let mut out = Vec::new();
    message(&mut out, NFNL_MSG_BATCH_BEGIN, NLM_F_REQUEST, 0, 0, NFNL_SUBSYS_NFTABLES, &[]);
    let runs = changes.chunk_by(|(op_a, a), (op_b, b)| op_a == op_b && a.set == b.set);
    let mut seq = 0;
    for run in runs {
        let (op, set) = (run[0].0, run[0].1.set);
        let (kind, flags) = match op {
            Op::Add => (NFT_MSG_NEWSETELEM, NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE),
            Op::Delete => (NFT_MSG_DELSETELEM, NLM_F_REQUEST | NLM_F_ACK),
        };
        let mut list = Vec::new();
        for (_, e) in run {
            let mut elem = Vec::new();
            attr(&mut elem, NFTA_SET_ELEM_KEY | NLA_F_NESTED, &value(&e.key));
            if let (Op::Add, Some(data)) = (op, &e.data) {
                attr(&mut elem, NFTA_SET_ELEM_DATA | NLA_F_NESTED, &value(data));
            }
            attr(&mut list, NFTA_LIST_ELEM | NLA_F_NESTED, &elem);
        }
        let mut attrs = Vec::new();
        attr(&mut attrs, NFTA_SET_ELEM_LIST_TABLE, &c_string(table));
        attr(&mut attrs, NFTA_SET_ELEM_LIST_SET, &c_string(set));
        attr(&mut attrs, NFTA_SET_ELEM_LIST_ELEMENTS | NLA_F_NESTED, &list);
        seq += 1;
        let kind = (NFNL_SUBSYS_NFTABLES << 8) | kind;
        message(&mut out, kind, flags, seq, AF_INET, 0, &attrs);
    }
    message(&mut out, NFNL_MSG_BATCH_END, NLM_F_REQUEST, seq + 1, 0, NFNL_SUBSYS_NFTABLES, &[]);
    (out, seq as usize)
}

/// A netlink header, an nfgenmsg (family, version 0, res_id in network
/// order) and the attributes.
fn message(
    out: &mut Vec<u8>,
    kind: u16,
    flags: u16,
    seq: u32,
    family: u8,
    res_id: u16,
    attrs: &[u8],
) {
    let len = 16 + 4 + attrs.len();
    out.extend((len as u32).to_ne_bytes());
    out.extend(kind.to_ne_bytes());
    out.extend(flags.to_ne_bytes());
    out.extend(seq.to_ne_bytes());
    out.extend(0u32.to_ne_bytes()); // port ID: the kernel's
    out.extend([family, 0]);
    out.extend(res_id.to_be_bytes());
    out.extend(attrs);
}

/// A netlink attribute: length, type, payload, padding to 4 bytes.
fn attr(out: &mut Vec<u8>, kind: u16, payload: &[u8]) {
    out.extend(((4 + payload.len()) as u16).to_ne_bytes());
    out.extend(kind.to_ne_bytes());
    out.extend(payload);
    out.resize(out.len().next_multiple_of(4), 0);
}

/// NFTA_DATA_VALUE holding `bytes`.
fn value(bytes: &[u8]) -> Vec<u8> {
    let mut v = Vec::new();
    attr(&mut v, NFTA_DATA_VALUE, bytes);
    v
}

fn c_string(s: &str) -> Vec<u8> {
    let mut v = s.as_bytes().to_vec();
    v.push(0);
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_element_message_is_what_nft_sends() {
        // `add element ip t published { tcp . 8080 }`, as nft 1.0.6 sends
        // it (strace), less the set ID nft adds.
        let e = Element { set: "published", key: vec![6, 0, 0, 0, 0x1f, 0x90, 0, 0], data: None };
        let (bytes, messages) = batch("t", &[(Op::Add, e)]);
        assert_eq!(messages, 1);
        let begin = &bytes[..20];
        assert_eq!(&begin[4..6], &NFNL_MSG_BATCH_BEGIN.to_ne_bytes());
        assert_eq!(&begin[18..20], &[0, 10], "res_id: NFNL_SUBSYS_NFTABLES, big-endian");
        let msg = &bytes[20..];
        let len = u32::from_ne_bytes(msg[..4].try_into().unwrap()) as usize;
        assert_eq!(u16::from_ne_bytes([msg[4], msg[5]]), (10 << 8) | 12);
        let attrs = &msg[20..len];
        let expected: &[u8] = &[
            6, 0, 1, 0, b't', 0, 0, 0, // table "t"
            14, 0, 2, 0, b'p', b'u', b'b', b'l', b'i', b's', b'h', b'e', b'd', 0, 0, 0, // set
            24, 0, 3, 0x80, // elements
            20, 0, 1, 0x80, // one element
            16, 0, 1, 0x80, // its key
            12, 0, 1, 0, 6, 0, 0, 0, 0x1f, 0x90, 0, 0, // the value: tcp . 8080
        ];
        assert_eq!(attrs, expected);
        assert_eq!(&bytes[20 + len + 4..20 + len + 6], &NFNL_MSG_BATCH_END.to_ne_bytes());
    }
}
